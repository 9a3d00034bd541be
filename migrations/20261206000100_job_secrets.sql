-- Reach: what a job keeps secret (request headers, login credentials, proxy URLs), apart
-- from the job's row so that nothing that reads jobs for the API can show them.

CREATE TABLE job_secrets (
    job_id uuid PRIMARY KEY REFERENCES scraping_jobs (id) ON DELETE CASCADE,
    -- {headers: {name: value}, login: {field: value}, proxies: [url]}, checked by the API.
    secrets jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE job_secrets IS
    'A job''s secrets (headers, login fields, proxies): written by the API, read by the workers, never returned.';
