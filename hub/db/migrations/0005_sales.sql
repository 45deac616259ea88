-- Hub store, schema 5: tenders, carts, sales with gap-free numbers, payments, refunds, outbox.
-- Amounts are INTEGER minor units; quantities and percentages are decimal TEXT (principle 5).

-- Tender types and rules as the POS data model (seed 001) defines them.
CREATE TABLE tenders (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    tender_type     TEXT NOT NULL,
    printout_type   TEXT NOT NULL DEFAULT 'receipt',
    tender_use      TEXT NOT NULL DEFAULT 'multiple' CHECK (tender_use IN ('multiple', 'single', 'only_this')),
    cashdrawer      TEXT NOT NULL DEFAULT 'ignore' CHECK (cashdrawer IN ('ignore', 'force_open', 'force_close')),
    change_type     TEXT NOT NULL DEFAULT 'none' CHECK (change_type IN ('none', 'tender', 'overpay')),
    change_tender   TEXT REFERENCES tenders (id),
    eft             INTEGER NOT NULL DEFAULT 0,
    rounding        INTEGER NOT NULL DEFAULT 0 CHECK (rounding >= 0),
    over_tender     INTEGER NOT NULL DEFAULT 0,
    under_tender    INTEGER NOT NULL DEFAULT 0,
    require_comment INTEGER NOT NULL DEFAULT 0,
    active          INTEGER NOT NULL DEFAULT 1,
    sort_order      INTEGER NOT NULL DEFAULT 0
);

INSERT INTO tenders (id, name, tender_type, tender_use, cashdrawer, change_type, change_tender, eft,
                     rounding, over_tender, under_tender, require_comment, sort_order) VALUES
    ('cash', 'Cash', 'cash', 'multiple', 'force_open', 'tender', 'cash', 0, 0, 1, 0, 0, 1),
    ('card', 'Card', 'card', 'multiple', 'ignore', 'none', NULL, 1, 0, 0, 0, 0, 2),
    ('voucher', 'Voucher', 'voucher', 'multiple', 'ignore', 'none', NULL, 0, 0, 0, 0, 1, 3),
    ('giftcard', 'Gift card', 'giftcard', 'multiple', 'ignore', 'none', NULL, 0, 0, 0, 0, 0, 4),
    ('invoice', 'Invoice', 'invoice', 'only_this', 'ignore', 'none', NULL, 0, 0, 0, 1, 0, 5);

CREATE TABLE gift_cards (
    code       TEXT PRIMARY KEY,
    balance    INTEGER NOT NULL CHECK (balance >= 0),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE carts (
    id            TEXT PRIMARY KEY,
    terminal_id   TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('open', 'held', 'completed', 'voided')),
    customer_id   INTEGER,
    discount      TEXT,            -- JSON {"kind": "percent"|"amount", "value": ...} or NULL
    hold_note     TEXT,
    training      INTEGER NOT NULL DEFAULT 0,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    sale_id       INTEGER
);
CREATE INDEX carts_by_state ON carts (state, terminal_id);

CREATE TABLE cart_lines (
    id              INTEGER PRIMARY KEY,
    cart_id         TEXT NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    product_id      INTEGER NOT NULL,
    variant_id      INTEGER,
    name            TEXT NOT NULL,
    unit_price      INTEGER NOT NULL CHECK (unit_price >= 0),
    price_overridden INTEGER NOT NULL DEFAULT 0,
    quantity        TEXT NOT NULL,
    gratis          INTEGER NOT NULL DEFAULT 0,
    discount        TEXT,
    note            TEXT NOT NULL DEFAULT '',
    source_barcode  TEXT
);
CREATE INDEX cart_lines_by_cart ON cart_lines (cart_id, id);

-- Gap-free numbers: the counter moves in the same transaction as the document it numbers,
-- so a rolled-back sale never consumes a number.
CREATE TABLE number_series (
    store_id    TEXT NOT NULL,
    terminal_id TEXT NOT NULL,
    doc_type    TEXT NOT NULL,
    last_number INTEGER NOT NULL,
    PRIMARY KEY (store_id, terminal_id, doc_type)
);

CREATE TABLE sales (
    id               INTEGER PRIMARY KEY,
    uuid             TEXT NOT NULL UNIQUE,
    doc_type         TEXT NOT NULL CHECK (doc_type IN ('receipt', 'invoice', 'refund')),
    number           INTEGER NOT NULL,
    number_text      TEXT NOT NULL,
    store_id         TEXT NOT NULL,
    terminal_id      TEXT NOT NULL,
    training         INTEGER NOT NULL DEFAULT 0,
    idempotency_key  TEXT NOT NULL UNIQUE,
    request_hash     TEXT NOT NULL,
    cart_id          TEXT,
    customer_id      INTEGER,
    buyer            TEXT,          -- JSON: B2B company name, tax id, address
    seller           TEXT NOT NULL,
    refund_of        INTEGER REFERENCES sales (id),
    reason           TEXT,
    approved_by      TEXT,
    currency         TEXT NOT NULL,
    subtotal         INTEGER NOT NULL,
    discount_total   INTEGER NOT NULL,
    tax_total        INTEGER NOT NULL,
    total            INTEGER NOT NULL,
    rounding         INTEGER NOT NULL DEFAULT 0,
    paid_total       INTEGER NOT NULL,
    change_total     INTEGER NOT NULL DEFAULT 0,
    balance_due      INTEGER NOT NULL DEFAULT 0,
    settings_version INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    UNIQUE (store_id, terminal_id, doc_type, training, number)
);
CREATE INDEX sales_by_number ON sales (number_text);

CREATE TABLE sale_lines (
    id              INTEGER PRIMARY KEY,
    sale_id         INTEGER NOT NULL REFERENCES sales (id),
    line_no         INTEGER NOT NULL,
    product_id      INTEGER,
    variant_id      INTEGER,
    name            TEXT NOT NULL,
    quantity        TEXT NOT NULL,
    unit_price      INTEGER NOT NULL,
    gratis_quantity TEXT NOT NULL DEFAULT '0',
    gross           INTEGER NOT NULL,
    discount        INTEGER NOT NULL,
    net             INTEGER NOT NULL,
    total           INTEGER NOT NULL,
    snapshot        TEXT NOT NULL,  -- the priced line with its taxes, JSON; refunds reverse it
    note            TEXT NOT NULL DEFAULT '',
    refund_of_line  INTEGER REFERENCES sale_lines (id),
    refunded_quantity TEXT NOT NULL DEFAULT '0'
);
CREATE INDEX sale_lines_by_sale ON sale_lines (sale_id, line_no);

CREATE TABLE sale_taxes (
    sale_id   INTEGER NOT NULL REFERENCES sales (id),
    rate_id   INTEGER NOT NULL,
    name      TEXT NOT NULL,
    rate      TEXT NOT NULL,
    inclusive INTEGER NOT NULL,
    base      INTEGER NOT NULL,
    amount    INTEGER NOT NULL,
    PRIMARY KEY (sale_id, rate_id)
);

CREATE TABLE payments (
    id          INTEGER PRIMARY KEY,
    sale_id     INTEGER NOT NULL REFERENCES sales (id),
    tender_id   TEXT NOT NULL,
    tender_type TEXT NOT NULL,
    amount      INTEGER NOT NULL,   -- counted towards the sale (negative on a refund)
    tendered    INTEGER NOT NULL,   -- handed over by the customer
    change      INTEGER NOT NULL DEFAULT 0,
    rounding    INTEGER NOT NULL DEFAULT 0,
    reference   TEXT,
    comment     TEXT
);
CREATE INDEX payments_by_sale ON payments (sale_id);

-- Facts for the cloud (principle 3): written in the same transaction as the change; the sync
-- relay publishes them in seq order and marks them delivered when the cloud acknowledges.
CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    type         TEXT NOT NULL,
    occurred_at  TEXT NOT NULL,
    payload      TEXT NOT NULL,
    delivered_at TEXT
);
