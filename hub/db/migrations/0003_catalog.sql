-- Hub store, schema 3: the catalog (authored through the API now, pushed by the cloud later).
-- Amounts are INTEGER minor units; quantities and rates are decimal TEXT (principle 5).
-- Rows are archived (active = 0), never deleted, so sales and refunds keep their references.

CREATE TABLE tax_rates (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    rate       TEXT NOT NULL,               -- percent: "17", "5.5"
    inclusive  INTEGER NOT NULL DEFAULT 1,
    compound   INTEGER NOT NULL DEFAULT 0,
    priority   INTEGER NOT NULL DEFAULT 0,
    is_default INTEGER NOT NULL DEFAULT 0,
    active     INTEGER NOT NULL DEFAULT 1
);
-- At most one default rate.
CREATE UNIQUE INDEX tax_rates_one_default ON tax_rates (is_default) WHERE is_default = 1 AND active = 1;

CREATE TABLE tax_groups (
    id     INTEGER PRIMARY KEY,
    name   TEXT NOT NULL UNIQUE,
    active INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE tax_group_rates (
    group_id INTEGER NOT NULL REFERENCES tax_groups (id) ON DELETE CASCADE,
    rate_id  INTEGER NOT NULL REFERENCES tax_rates (id),
    PRIMARY KEY (group_id, rate_id)
);

CREATE TABLE units (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    abbreviation TEXT NOT NULL UNIQUE,
    decimals     INTEGER NOT NULL DEFAULT 0 CHECK (decimals BETWEEN 0 AND 3),
    active       INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE categories (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    color      TEXT NOT NULL DEFAULT '#607d8b',
    sort_order INTEGER NOT NULL DEFAULT 0,
    parent_id  INTEGER REFERENCES categories (id),
    active     INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE products (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    price           INTEGER NOT NULL CHECK (price >= 0),
    cost_price      INTEGER CHECK (cost_price >= 0),
    sku             TEXT UNIQUE,
    plu             TEXT UNIQUE,           -- item code on in-store (scale) labels, no leading zeros
    category_id     INTEGER REFERENCES categories (id),
    unit_id         INTEGER REFERENCES units (id),
    tax_rate_id     INTEGER REFERENCES tax_rates (id),
    tax_group_id    INTEGER REFERENCES tax_groups (id),
    kitchen_station TEXT NOT NULL DEFAULT '',
    is_promo        INTEGER NOT NULL DEFAULT 0,
    track_stock     INTEGER NOT NULL DEFAULT 0,
    stock           TEXT NOT NULL DEFAULT '0',
    min_stock       TEXT NOT NULL DEFAULT '0',
    active          INTEGER NOT NULL DEFAULT 1,
    updated_at      TEXT NOT NULL,
    CHECK (tax_rate_id IS NULL OR tax_group_id IS NULL)
);
CREATE INDEX products_by_category ON products (category_id, name);
CREATE INDEX products_by_name ON products (name COLLATE NOCASE);

CREATE TABLE variants (
    id         INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products (id),
    name       TEXT NOT NULL,
    price      INTEGER CHECK (price >= 0),  -- NULL: the product's price
    sku        TEXT UNIQUE,
    own_stock  INTEGER NOT NULL DEFAULT 0,
    stock      TEXT NOT NULL DEFAULT '0',
    active     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX variants_by_product ON variants (product_id);

-- One table for every barcode so a code is unique across products and variants.
CREATE TABLE barcodes (
    code       TEXT PRIMARY KEY,            -- normalised: UPC-A stored in its EAN-13 form
    product_id INTEGER NOT NULL REFERENCES products (id),
    variant_id INTEGER REFERENCES variants (id)
);
CREATE INDEX barcodes_by_product ON barcodes (product_id, variant_id);

CREATE TABLE customers (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL,
    email                TEXT,
    phone                TEXT,
    city                 TEXT,
    notes                TEXT NOT NULL DEFAULT '',
    company_name         TEXT,
    tax_id               TEXT,
    address              TEXT,
    max_discount_percent TEXT,
    active               INTEGER NOT NULL DEFAULT 1,
    updated_at           TEXT NOT NULL
);
CREATE INDEX customers_by_name ON customers (name COLLATE NOCASE);

-- Every stock change with its reason, in the transaction of the sale or refund that made it.
CREATE TABLE stock_movements (
    id          INTEGER PRIMARY KEY,
    product_id  INTEGER NOT NULL,
    variant_id  INTEGER,
    delta       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX stock_movements_by_product ON stock_movements (product_id, id);
