-- Plugin platform: uploaded plugins, per-schema plugin limits and run logs.

-- Bundled with trawl (re-registered at every start) as opposed to uploaded.
ALTER TABLE plugins ADD COLUMN bundled boolean NOT NULL DEFAULT false;
UPDATE plugins SET bundled = true WHERE owner_id IS NULL;
CREATE INDEX plugins_digest_idx ON plugins (digest);

-- Limits a schema sets for its plugin calls (lower than the defaults, or higher up to the
-- admin-set ceilings): {"memory": "64 MiB", "fuel": 1000000, "timeout_ms": 5000, "max_items": 100}.
ALTER TABLE extractor_schemas ADD COLUMN limits jsonb NOT NULL DEFAULT '{}';

CREATE TABLE run_logs (
    id         uuid PRIMARY KEY,
    run_id     uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    level      text NOT NULL CHECK (level IN ('trace', 'debug', 'info', 'warn', 'error')),
    message    text NOT NULL,
    page_url   text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX run_logs_run_idx ON run_logs (run_id, id);
COMMENT ON TABLE run_logs IS 'Lines plugins logged during a run (capped per run), with the page they came from.';
