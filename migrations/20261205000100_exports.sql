-- Exports that scale: a run's results or a whole job's (deduplicated across its runs),
-- filtered; each with its own expiry, after which a janitor deletes its file wherever it
-- is stored; deleting one revokes its links at once.

ALTER TABLE exports DROP CONSTRAINT exports_status_check;

ALTER TABLE exports
    -- A job export has no run.
    ALTER COLUMN run_id DROP NOT NULL,
    -- The job exported (for a run export, the run's job).
    ADD COLUMN job_id uuid REFERENCES scraping_jobs (id) ON DELETE CASCADE,
    -- Which results: {min_confidence, valid, source_url, since, until}, checked by the API.
    ADD COLUMN filters jsonb NOT NULL DEFAULT '{}',
    -- How long the file and its links last once written.
    ADD COLUMN ttl_secs bigint NOT NULL DEFAULT 86400 CHECK (ttl_secs > 0),
    -- When the file and its links stop (set when it is written).
    ADD COLUMN expires_at timestamptz,
    -- The name a download is saved under (job name, run, date).
    ADD COLUMN file_name text,
    -- The backend holding the file (`local`, `s3`), so the janitor deletes it there.
    ADD COLUMN storage_backend text,
    -- Raised by every claim; a worker's writes name it, so one that lost its lease
    -- changes nothing.
    ADD COLUMN lease_token bigint NOT NULL DEFAULT 0,
    -- When it was deleted through the API (its row stays so old links say `link_revoked`).
    ADD COLUMN deleted_at timestamptz,
    ADD CONSTRAINT exports_status_check
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'expired', 'deleted')),
    ADD CONSTRAINT exports_scope CHECK (run_id IS NOT NULL OR job_id IS NOT NULL);

UPDATE exports e SET job_id = r.job_id FROM runs r WHERE r.id = e.run_id;
-- Files written before exports expired keep a week, not a sudden end.
UPDATE exports SET expires_at = now() + interval '7 days' WHERE status = 'succeeded';

CREATE INDEX exports_job_idx ON exports (job_id);
CREATE INDEX exports_expiry_idx ON exports (expires_at) WHERE status = 'succeeded';
-- A job export keeps the first of each item across the job's runs.
CREATE INDEX results_job_hash_idx ON results (job_id, content_hash, id);

COMMENT ON COLUMN exports.filters IS 'Which results: min_confidence, valid, source_url (a * pattern), since, until.';
