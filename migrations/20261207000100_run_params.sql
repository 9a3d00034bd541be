-- The settings a run is worked with, as its worker read them when it started the run
-- (start URLs and page cap after the run's overrides, pagination, limits, fetch settings,
-- the schema's version): the job may be edited while the run goes or after it ended, and
-- a run's page shows what it ran with. Null until a worker starts it.
ALTER TABLE runs ADD COLUMN params jsonb;
