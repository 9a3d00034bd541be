-- trawl's initial schema: the five seed tables (extractor_schemas, scraping_jobs, runs,
-- results, exports) plus users, api_keys, plugins, the per-run frontier and server secrets.
-- Enumerations are text with CHECK constraints so that adding a value is a plain migration.

CREATE TABLE users (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('admin', 'member')),
    credits     bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email)
);
COMMENT ON TABLE users IS 'People and services that own rows; admins manage plugins, users and keys.';

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    -- The first characters of the key, shown in listings so a user can tell keys apart.
    prefix       text NOT NULL,
    -- SHA-256 of the whole key; the key itself is shown once and never stored.
    key_hash     bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
);
CREATE INDEX api_keys_user_id_idx ON api_keys (user_id);
COMMENT ON TABLE api_keys IS 'Bearer keys for the HTTP API, stored hashed; revocable.';

CREATE TABLE plugins (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- NULL for system plugins (bundled with trawl), visible to everyone.
    owner_id      uuid REFERENCES users (id) ON DELETE CASCADE,
    name          text NOT NULL,
    version       text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('extractor', 'exporter')),
    description   text NOT NULL DEFAULT '',
    wit_version   text NOT NULL,
    -- SHA-256 of the component bytes.
    digest        bytea NOT NULL,
    component     bytea NOT NULL,
    size_bytes    bigint NOT NULL,
    -- What the plugin's info() (and, for exporters, format()) said.
    info          jsonb NOT NULL DEFAULT '{}',
    deprecated_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT plugins_name_version_key UNIQUE (name, version)
);
CREATE INDEX plugins_name_idx ON plugins (name);
COMMENT ON TABLE plugins IS 'WebAssembly components (extractors and exporters) with the bytes, digest and self-description.';

CREATE TABLE extractor_schemas (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            text NOT NULL,
    version         integer NOT NULL DEFAULT 1,
    -- json, not jsonb: the order of properties is meaningful (CSV columns, the API echoes
    -- the schema as written), and jsonb would reorder keys.
    json_schema     json NOT NULL,
    plugin_id       uuid NOT NULL REFERENCES plugins (id) ON DELETE RESTRICT,
    plugin_options  jsonb NOT NULL DEFAULT '{}',
    validation_mode text NOT NULL DEFAULT 'strict' CHECK (validation_mode IN ('strict', 'lenient', 'off')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT extractor_schemas_owner_name_key UNIQUE (owner_id, name)
);
CREATE INDEX extractor_schemas_plugin_id_idx ON extractor_schemas (plugin_id);
COMMENT ON TABLE extractor_schemas IS 'JSON Schemas of items, with x- extraction hints, the extractor plugin and its options.';

CREATE TABLE scraping_jobs (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    schema_id       uuid NOT NULL REFERENCES extractor_schemas (id) ON DELETE RESTRICT,
    name            text NOT NULL,
    start_urls      text[] NOT NULL,
    -- {"type": "none"} | {"type": "next-link", "selector": "..."}
    pagination      jsonb NOT NULL DEFAULT '{"type": "none"}',
    max_pages       integer NOT NULL DEFAULT 100 CHECK (max_pages > 0),
    concurrency     integer NOT NULL DEFAULT 4 CHECK (concurrency > 0),
    dedup_scope     text NOT NULL DEFAULT 'run' CHECK (dedup_scope IN ('run', 'job')),
    enabled         boolean NOT NULL DEFAULT true,
    cron            text,
    timezone        text NOT NULL DEFAULT 'UTC',
    next_run_at     timestamptz,
    webhook_url     text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scraping_jobs_owner_idx ON scraping_jobs (owner_id, created_at DESC, id);
CREATE INDEX scraping_jobs_schema_id_idx ON scraping_jobs (schema_id);
CREATE INDEX scraping_jobs_due_idx ON scraping_jobs (next_run_at) WHERE enabled AND next_run_at IS NOT NULL;
COMMENT ON TABLE scraping_jobs IS 'What to scrape: start URLs, pagination, limits, politeness and schedule.';

CREATE TABLE runs (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id            uuid NOT NULL REFERENCES scraping_jobs (id) ON DELETE CASCADE,
    owner_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    trigger           text NOT NULL CHECK (trigger IN ('api', 'schedule')),
    idempotency_key   text,
    status            text NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out')),
    lease_owner       text,
    lease_expires_at  timestamptz,
    pages_fetched     bigint NOT NULL DEFAULT 0,
    pages_failed      bigint NOT NULL DEFAULT 0,
    items_new         bigint NOT NULL DEFAULT 0,
    items_duplicate   bigint NOT NULL DEFAULT 0,
    items_invalid     bigint NOT NULL DEFAULT 0,
    bytes_fetched     bigint NOT NULL DEFAULT 0,
    fuel_consumed     bigint NOT NULL DEFAULT 0,
    credits_consumed  bigint NOT NULL DEFAULT 0,
    error_code        text,
    error_message     text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX runs_job_idempotency_key ON runs (job_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX runs_job_idx ON runs (job_id, created_at DESC, id);
CREATE INDEX runs_queued_idx ON runs (created_at) WHERE status = 'queued';
CREATE INDEX runs_lease_idx ON runs (lease_expires_at) WHERE status = 'running';
COMMENT ON TABLE runs IS 'Executions of a job: status, lease, live counters, error.';

-- The frontier of a run and the record of each page visited.
CREATE TABLE run_pages (
    run_id        uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    url           text NOT NULL,
    depth         integer NOT NULL DEFAULT 0,
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'fetching', 'done', 'failed', 'skipped')),
    final_url     text,
    http_status   integer,
    bytes         bigint,
    items         integer,
    elapsed_ms    integer,
    error_code    text,
    error_message text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, url)
);
CREATE INDEX run_pages_pending_idx ON run_pages (run_id, created_at) WHERE state = 'pending';
COMMENT ON TABLE run_pages IS 'Per-run frontier (pending URLs) and outcome of every page visited, so a run can resume.';

CREATE TABLE results (
    id                uuid PRIMARY KEY,
    run_id            uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    job_id            uuid NOT NULL REFERENCES scraping_jobs (id) ON DELETE CASCADE,
    -- run_id or job_id, by the job's dedup scope: one unique index serves both scopes.
    dedup_key         uuid NOT NULL,
    source_url        text NOT NULL,
    data              jsonb NOT NULL,
    -- SHA-256 of the item's canonical JSON (sorted keys, no whitespace).
    content_hash      bytea NOT NULL,
    confidence        real,
    validation_errors jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT results_dedup_key UNIQUE (dedup_key, content_hash)
);
CREATE INDEX results_run_idx ON results (run_id, id);
CREATE INDEX results_job_idx ON results (job_id, id);
COMMENT ON TABLE results IS 'Extracted items, deduplicated by content hash within a run or a job.';

CREATE TABLE exports (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    run_id         uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    plugin_id      uuid NOT NULL REFERENCES plugins (id) ON DELETE RESTRICT,
    options        jsonb NOT NULL DEFAULT '{}',
    status         text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    row_count      bigint NOT NULL DEFAULT 0,
    size_bytes     bigint NOT NULL DEFAULT 0,
    media_type     text,
    file_extension text,
    storage_key    text,
    lease_owner    text,
    lease_expires_at timestamptz,
    error_code     text,
    error_message  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX exports_owner_idx ON exports (owner_id, created_at DESC);
CREATE INDEX exports_run_idx ON exports (run_id);
CREATE INDEX exports_queued_idx ON exports (created_at) WHERE status = 'queued';
COMMENT ON TABLE exports IS 'Files written from results by an exporter plugin, downloadable through signed links.';

CREATE TABLE server_secrets (
    name       text PRIMARY KEY,
    value      bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE server_secrets IS 'Secrets shared by every trawl host on this database (the download-link signing key).';
