-- Runs you can rely on: schedules with an overlap policy, fenced leases, cancellation
-- that a run's holder carries out, timeouts, idempotent creation, a change feed for live
-- views (LISTEN/NOTIFY), a webhook outbox written by the state change itself, retention.

ALTER TABLE scraping_jobs
    -- While a run of the job is queued or running, a due occurrence is skipped or queued.
    ADD COLUMN overlap text NOT NULL DEFAULT 'skip' CHECK (overlap IN ('skip', 'queue')),
    -- A run still going this long after it started ends `timed_out` (NULL: no limit).
    ADD COLUMN max_duration_secs integer CHECK (max_duration_secs > 0),
    -- When the schedule last fired (a run was created or the occurrence skipped).
    ADD COLUMN last_run_at timestamptz,
    -- [{"url": "https://…", "events": ["run.succeeded", "run.failed"]}]
    ADD COLUMN webhooks jsonb NOT NULL DEFAULT '[]',
    -- The key of the deliveries' HMAC-SHA256 signatures (hex); shown once to the owner.
    ADD COLUMN webhook_secret text;

UPDATE scraping_jobs
SET webhooks = jsonb_build_array(jsonb_build_object(
        'url', webhook_url,
        'events', '["run.started", "run.succeeded", "run.failed", "run.cancelled", "run.timed_out"]'::jsonb))
WHERE webhook_url IS NOT NULL;
ALTER TABLE scraping_jobs DROP COLUMN webhook_url;

ALTER TABLE runs
    -- Raised by every claim: a worker's writes carry the token it claimed with, and a
    -- write whose token is not the run's current one, or whose lease lapsed, changes nothing.
    ADD COLUMN lease_token bigint NOT NULL DEFAULT 0,
    -- Set by `POST /v1/runs/{id}/cancel` on a running run; the holder ends it `cancelled`.
    ADD COLUMN cancel_requested_at timestamptz,
    -- The schedule occurrence a `schedule` run is for: with the job, its idempotency.
    ADD COLUMN scheduled_for timestamptz,
    -- SHA-256 of the creation request's body: the same Idempotency-Key with another body is refused.
    ADD COLUMN idempotency_hash bytea,
    -- What the creation request changed for this run: {"start_urls": [...], "max_pages": 10}.
    ADD COLUMN overrides jsonb NOT NULL DEFAULT '{}',
    -- started_at + the job's max duration, fixed when the run first starts.
    ADD COLUMN deadline_at timestamptz,
    -- Raised by every change a watcher cares about (status, counters): the event id of
    -- GET /v1/runs/{id}/events.
    ADD COLUMN version bigint NOT NULL DEFAULT 0,
    -- When retention removed the run's pages, logs and results (the run row stays).
    ADD COLUMN pruned_at timestamptz;

CREATE UNIQUE INDEX runs_job_occurrence ON runs (job_id, scheduled_for) WHERE scheduled_for IS NOT NULL;
-- The overlap check and the scheduler's "is a run of this job going" look-up.
CREATE INDEX runs_active_job_idx ON runs (job_id) WHERE status IN ('queued', 'running');
-- Retention walks ended, unpruned runs by age.
CREATE INDEX runs_prunable_idx ON runs (finished_at) WHERE pruned_at IS NULL AND finished_at IS NOT NULL;

-- What each page added to its run's counters, so the counters of an ended run are
-- recomputed from its pages: they equal what the pages list and the results say however
-- the run ended (a crash loses the live counters' last moments, never a page's record).
ALTER TABLE run_pages
    ADD COLUMN items_new integer NOT NULL DEFAULT 0,
    ADD COLUMN items_duplicate integer NOT NULL DEFAULT 0,
    ADD COLUMN fuel bigint NOT NULL DEFAULT 0;

-- The webhook outbox: one row per (state change, subscribed URL), written by the trigger
-- below in the transaction of the change, delivered by any host.
CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    run_id          uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    job_id          uuid NOT NULL REFERENCES scraping_jobs (id) ON DELETE CASCADE,
    owner_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event           text NOT NULL CHECK (event IN ('run.started', 'run.succeeded', 'run.failed', 'run.cancelled', 'run.timed_out')),
    url             text NOT NULL,
    -- The body, fixed when the change happened: every attempt sends the same bytes.
    payload         jsonb NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    -- Due time of the next attempt; pushed ahead while a host is sending (its lease).
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_run_idx ON webhook_deliveries (run_id, created_at, id);
CREATE INDEX webhook_deliveries_job_idx ON webhook_deliveries (job_id);
COMMENT ON TABLE webhook_deliveries IS 'Webhook outbox: a run state change per subscribed URL, with its fixed payload and delivery state.';

CREATE TABLE webhook_attempts (
    delivery_id   uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt       integer NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    duration_ms   integer,
    http_status   integer,
    error_code    text,
    error_message text,
    PRIMARY KEY (delivery_id, attempt)
);
COMMENT ON TABLE webhook_attempts IS 'Every attempt to deliver a webhook: when, how long, the answer or the error.';

-- Every change to a run that a watcher or a worker cares about raises its version and is
-- announced on channel `trawl_runs` as "<run id> <status>", with " cancel" after it once a
-- cancellation was asked for (sent at commit, so only what was stored is announced).
-- Lease renewals alone are not announced.
CREATE FUNCTION runs_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF (NEW.status, NEW.cancel_requested_at, NEW.lease_token, NEW.pages_fetched, NEW.pages_failed,
            NEW.items_new, NEW.items_duplicate, NEW.items_invalid, NEW.items_empty, NEW.bytes_fetched,
            NEW.credits_consumed)
           IS NOT DISTINCT FROM
           (OLD.status, OLD.cancel_requested_at, OLD.lease_token, OLD.pages_fetched, OLD.pages_failed,
            OLD.items_new, OLD.items_duplicate, OLD.items_invalid, OLD.items_empty, OLD.bytes_fetched,
            OLD.credits_consumed) THEN
            RETURN NEW;
        END IF;
        NEW.version := OLD.version + 1;
    END IF;
    PERFORM pg_notify('trawl_runs', NEW.id::text || ' ' || NEW.status
                      || CASE WHEN NEW.cancel_requested_at IS NULL THEN '' ELSE ' cancel' END);
    RETURN NEW;
END $$;
CREATE TRIGGER runs_changed BEFORE INSERT OR UPDATE ON runs
    FOR EACH ROW EXECUTE FUNCTION runs_changed();

-- The outbox's writer: a run that starts for the first time or ends gets one delivery per
-- URL of its job that asked for the event, in the same transaction as the change.
CREATE FUNCTION runs_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ev text;
BEGIN
    IF NEW.status = OLD.status THEN
        RETURN NULL;
    END IF;
    IF NEW.status = 'running' AND OLD.started_at IS NULL THEN
        ev := 'run.started';
    ELSIF NEW.status IN ('succeeded', 'failed', 'cancelled', 'timed_out') THEN
        ev := 'run.' || NEW.status;
    ELSE
        RETURN NULL;
    END IF;
    INSERT INTO webhook_deliveries (run_id, job_id, owner_id, event, url, payload)
    SELECT NEW.id, NEW.job_id, NEW.owner_id, ev, hook ->> 'url',
           jsonb_build_object(
               'event', ev,
               'run', jsonb_build_object(
                   'id', NEW.id, 'job_id', NEW.job_id, 'trigger', NEW.trigger, 'status', NEW.status,
                   'counters', jsonb_build_object(
                       'pages_fetched', NEW.pages_fetched, 'pages_failed', NEW.pages_failed,
                       'items_new', NEW.items_new, 'items_duplicate', NEW.items_duplicate,
                       'items_invalid', NEW.items_invalid, 'items_empty', NEW.items_empty,
                       'bytes_fetched', NEW.bytes_fetched, 'fuel_consumed', NEW.fuel_consumed),
                   'credits_consumed', NEW.credits_consumed,
                   'error', CASE WHEN NEW.error_code IS NULL THEN NULL
                                 ELSE jsonb_build_object('code', NEW.error_code, 'message', NEW.error_message) END,
                   'created_at', NEW.created_at, 'started_at', NEW.started_at, 'finished_at', NEW.finished_at))
    FROM scraping_jobs j, jsonb_array_elements(j.webhooks) AS hook
    WHERE j.id = NEW.job_id AND hook -> 'events' ? ev;
    IF FOUND THEN
        PERFORM pg_notify('trawl_webhooks', '');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER runs_webhooks AFTER UPDATE OF status ON runs
    FOR EACH ROW EXECUTE FUNCTION runs_webhooks();

-- A run's counters as its pages recorded them: what an ended run's counters are set to.
CREATE FUNCTION run_page_totals(run uuid, OUT done bigint, OUT failed bigint, OUT new bigint,
                                OUT duplicate bigint, OUT invalid bigint, OUT empty bigint,
                                OUT bytes bigint, OUT fuel bigint)
LANGUAGE sql STABLE AS $$
    SELECT count(*) FILTER (WHERE state = 'done'), count(*) FILTER (WHERE state = 'failed'),
           coalesce(sum(items_new), 0), coalesce(sum(items_duplicate), 0),
           coalesce(sum(items_invalid), 0), coalesce(sum(items_empty), 0),
           coalesce(sum(bytes), 0)::bigint, coalesce(sum(fuel), 0)::bigint
    FROM run_pages WHERE run_id = run
$$;
