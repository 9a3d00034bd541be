-- Crawl engine: per-job crawl settings (depth, fetch and politeness, query parameters
-- dropped by URL normalisation), and per-page attempts and content type with a stable
-- listing order for GET /v1/runs/{id}/pages.

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
    -- Enqueue order: the cursor of the pages listing (the primary key is (run_id, url)).
    ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY,
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN content_type text;
CREATE INDEX run_pages_list_idx ON run_pages (run_id, seq);
CREATE INDEX run_pages_state_idx ON run_pages (run_id, state, seq);
