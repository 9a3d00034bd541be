-- Crawl engine: per-job crawl settings (depth, fetch and politeness, query parameters
-- dropped by URL normalisation), and per-page attempts and content type with a stable
-- frontier order.

-- Pagination also takes {"type": "url-template", "template": "...{page}...", "start": 1, "end": 50}
-- and {"type": "crawl", "include": [...], "exclude": [...], "same_host": true, "selector": "a[href]"}.
ALTER TABLE scraping_jobs
    -- NULL: no depth limit (max_pages still bounds the run).
    ADD COLUMN max_depth integer CHECK (max_depth >= 0),
    -- {"per_host_concurrency": 2, "delay_ms": 0, "obey_robots": true, "user_agent": null,
    --  "max_attempts": 3, "timeout_ms": null, "content_types": ["text/html", ...]}: the API's
    -- FetchSettings, clamped to the host's caps when a run starts.
    ADD COLUMN fetch_settings jsonb NOT NULL DEFAULT '{}',
    -- Query parameters removed from every URL before it enters the frontier (session ids).
    ADD COLUMN drop_query_params text[] NOT NULL DEFAULT '{}';

ALTER TABLE run_pages
    -- Enqueue order, in which the frontier is taken.
    ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY,
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN content_type text;
-- No index of its own for listing pages: GET /v1/runs/{id}/pages walks the primary key
-- (run_id, url). A second index led by run_id was picked by the planner, on a run's young
-- statistics, for the per-page updates by url, scanning the whole run each time.
-- The frontier is taken in enqueue order, from after the last page taken (see
-- db::pages::take_pending): ordered by seq instead of created_at, which ties in batches.
DROP INDEX run_pages_pending_idx;
CREATE INDEX run_pages_pending_idx ON run_pages (run_id, seq) WHERE state = 'pending';
