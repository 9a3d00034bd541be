-- Credits: an append-only ledger per user whose sum the balance is kept equal to, the
-- charges of each run by kind, runs' cost caps, and whether a run is charged at all.

-- A balance never goes below zero: charges are taken by conditional updates, and this
-- is the backstop.
ALTER TABLE users ADD CONSTRAINT users_credits_nonnegative CHECK (credits >= 0);

CREATE TABLE credit_ledger (
    -- Also the order of the lines: `balance` is the running sum in this order.
    id          bigserial PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- grant and refund add, charge takes, adjustment either.
    kind        text NOT NULL CHECK (kind IN ('grant', 'charge', 'refund', 'adjustment')),
    -- What a charge is for: pages fetched and extracted, plugin fuel, items stored, bytes exported.
    item        text CHECK (item IN ('pages', 'fuel', 'items', 'export')),
    -- No foreign keys to runs, jobs and exports: the record of a charge outlives them.
    run_id      uuid,
    job_id      uuid,
    export_id   uuid,
    -- How much of `item` was charged for, at `unit_price` credits per `per` units.
    quantity    bigint NOT NULL DEFAULT 0,
    unit_price  bigint NOT NULL DEFAULT 0,
    per         bigint NOT NULL DEFAULT 1 CHECK (per > 0),
    -- The change of the balance (negative for a charge) and the balance after it.
    amount      bigint NOT NULL,
    balance     bigint NOT NULL CHECK (balance >= 0),
    reason      text NOT NULL DEFAULT '',
    -- Who granted or adjusted (NULL for what trawl did itself).
    actor_id    uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (kind <> 'charge' OR amount <= 0),
    CHECK (kind NOT IN ('grant', 'refund') OR amount >= 0)
);
COMMENT ON TABLE credit_ledger IS 'Every change of a credit balance: grants, charges, refunds, adjustments. Append-only; users.credits equals the sum of amount.';
CREATE INDEX credit_ledger_user_idx ON credit_ledger (user_id, id);
CREATE INDEX credit_ledger_run_idx ON credit_ledger (run_id, id) WHERE run_id IS NOT NULL;
CREATE INDEX credit_ledger_usage_idx ON credit_ledger (user_id, created_at) WHERE kind = 'charge';

CREATE FUNCTION credit_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'credit_ledger is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER credit_ledger_append_only BEFORE UPDATE OR TRUNCATE ON credit_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION credit_ledger_append_only();

-- The balances a user had before the ledger existed open it.
INSERT INTO credit_ledger (user_id, kind, amount, balance, reason)
SELECT id, 'adjustment', credits, credits, 'opening balance' FROM users WHERE credits <> 0;

-- Users whose balance is not the sum of their ledger: none, ever.
CREATE FUNCTION credit_ledger_mismatches()
RETURNS TABLE (user_id uuid, balance bigint, ledger_sum bigint)
LANGUAGE sql STABLE AS $$
    SELECT u.id, u.credits, coalesce(l.total, 0)::bigint
    FROM users u LEFT JOIN (SELECT l.user_id, sum(l.amount) AS total FROM credit_ledger l GROUP BY l.user_id) l
         ON l.user_id = u.id
    WHERE u.credits <> coalesce(l.total, 0)
$$;

-- What a run has been charged for so far, by kind: the quantities and their credits.
-- Written by the page writer in the transaction that stores each batch.
CREATE TABLE run_charges (
    run_id        uuid PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    pages         bigint NOT NULL DEFAULT 0,
    fuel          bigint NOT NULL DEFAULT 0,
    items         bigint NOT NULL DEFAULT 0,
    credits_pages bigint NOT NULL DEFAULT 0,
    credits_fuel  bigint NOT NULL DEFAULT 0,
    credits_items bigint NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE run_charges IS 'The priced work of each run by kind (pages, fuel, items); the ledger holds the charges themselves.';

ALTER TABLE scraping_jobs
    -- A run of the job that reaches this many credits ends `succeeded` (credit_cap_reached).
    ADD COLUMN max_credits bigint CHECK (max_credits > 0);

ALTER TABLE runs
    -- Whether the run's work is taken from its owner's balance (admins' runs and hosts
    -- with charging off are priced but not charged); fixed when the run is created.
    ADD COLUMN charged boolean NOT NULL DEFAULT false,
    -- The run's own cap: its request's, else its job's.
    ADD COLUMN max_credits bigint CHECK (max_credits > 0);

ALTER TABLE exports
    ADD COLUMN credits_consumed bigint NOT NULL DEFAULT 0,
    ADD COLUMN charged boolean NOT NULL DEFAULT false;

-- What a run took from its owner's balance: its charges when it is charged, else none.
CREATE FUNCTION run_credits_consumed(run uuid) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT c.credits_pages + c.credits_fuel + c.credits_items
                     FROM run_charges c JOIN runs r ON r.id = c.run_id
                     WHERE c.run_id = run AND r.charged), 0)::bigint
$$;
