-- Per-user quotas: each column overrides the host's default (TRAWL_QUOTA_*, TRAWL_RATE_LIMIT*)
-- for one user; NULL means the default. Admins set them with PUT /v1/users/{id}/quotas.
ALTER TABLE users
    ADD COLUMN quota_concurrent_runs integer CHECK (quota_concurrent_runs >= 0),
    ADD COLUMN quota_max_pages integer CHECK (quota_max_pages >= 1),
    ADD COLUMN quota_jobs integer CHECK (quota_jobs >= 0),
    ADD COLUMN quota_schemas integer CHECK (quota_schemas >= 0),
    ADD COLUMN quota_plugins integer CHECK (quota_plugins >= 0),
    ADD COLUMN quota_min_schedule_interval_secs integer CHECK (quota_min_schedule_interval_secs >= 0),
    ADD COLUMN quota_rate_limit integer CHECK (quota_rate_limit >= 0),
    ADD COLUMN quota_rate_burst integer CHECK (quota_rate_burst >= 1);

COMMENT ON COLUMN users.quota_concurrent_runs IS 'Runs of the user''s that run at once (more wait queued); NULL: the host''s default.';
COMMENT ON COLUMN users.quota_max_pages IS 'Most pages a job or a run override may ask for; NULL: the host''s default.';
COMMENT ON COLUMN users.quota_jobs IS 'Most jobs the user may have; NULL: the host''s default.';
COMMENT ON COLUMN users.quota_schemas IS 'Most schemas the user may have; NULL: the host''s default.';
COMMENT ON COLUMN users.quota_plugins IS 'Most private plugin versions a member may own (uploads); NULL: the host''s default.';
COMMENT ON COLUMN users.quota_min_schedule_interval_secs IS 'Shortest time between two occurrences of a job''s schedule, in seconds; NULL: the host''s default.';
COMMENT ON COLUMN users.quota_rate_limit IS 'API requests per second per key of the user (0: no limit); NULL: the host''s default.';
COMMENT ON COLUMN users.quota_rate_burst IS 'API requests a key of the user may make at once before the rate applies; NULL: the host''s default.';

-- The claim, /v1/me and the quotas count an owner's running runs.
CREATE INDEX runs_owner_running_idx ON runs (owner_id) WHERE status = 'running';
-- Plugin uploads count the owner's plugins.
CREATE INDEX plugins_owner_idx ON plugins (owner_id) WHERE owner_id IS NOT NULL;
