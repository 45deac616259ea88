-- Hub store, schema 8: sales targets (seed 001): performance goals for the store over a period,
-- with daily goal amounts. The achieved amount of a day is computed from the sales tables when
-- it is read (never stored), so it can never go stale.
-- Amounts are INTEGER minor units; quantities are decimal TEXT (principle 5): target_amount is
-- TEXT holding either (the target's type says which).

CREATE TABLE sales_targets (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    location_id TEXT NOT NULL,                  -- the store id (store settings) it applies to
    start_date  TEXT NOT NULL,                  -- YYYY-MM-DD, the store's local date
    end_date    TEXT,                           -- NULL: ongoing
    type        TEXT NOT NULL CHECK (type IN ('TOTAL_SALES_AMOUNT', 'AVG_SALES_AMOUNT', 'TOTAL_CUSTOMERS_QTY',
                                              'PRODUCT_SALES_QTY', 'DISCOUNT_SALES_QTY')),
    data        TEXT NOT NULL DEFAULT '{}',     -- JSON: target {plu, dpt, grp}, campaign, discount_id, multiplier
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE INDEX sales_targets_by_location ON sales_targets (location_id, start_date);

CREATE TABLE sales_target_data (
    target_id     INTEGER NOT NULL REFERENCES sales_targets (id) ON DELETE CASCADE,
    target_date   TEXT NOT NULL,                -- YYYY-MM-DD
    target_amount TEXT NOT NULL,                -- minor units (amount types) or a decimal quantity
    PRIMARY KEY (target_id, target_date)
);
