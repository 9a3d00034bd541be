-- Each item a page gives is stored or refused alone, so one bad item never fails a page
-- or a run; a page records how many it refused and why.
ALTER TABLE run_pages
    -- Items that broke the schema (strict mode drops them; lenient keeps them flagged),
    -- or that could not be read at all (not a JSON object).
    ADD COLUMN items_invalid integer NOT NULL DEFAULT 0,
    -- Items in which no property of the schema was found: never stored as `{}`.
    ADD COLUMN items_empty integer NOT NULL DEFAULT 0,
    -- The first problems: [{"index": 3, "code": "item_empty", "message": "..."}].
    ADD COLUMN item_problems jsonb;

ALTER TABLE runs ADD COLUMN items_empty bigint NOT NULL DEFAULT 0;
