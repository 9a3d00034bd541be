-- What the extractor said of each field of an item (trawl:plugin@0.2.0 plugins): its own
-- confidence and where the value was found. Items of 0.1.0 plugins have none.
ALTER TABLE results ADD COLUMN field_meta jsonb
    CHECK (field_meta IS NULL OR jsonb_typeof(field_meta) = 'object');

COMMENT ON COLUMN results.field_meta IS
    'Per field of data, what the extractor said of it: {"<field>": {"confidence": 0.9, "origin": "structured_data", "detail": "json-ld"}}; null when it said nothing.';
