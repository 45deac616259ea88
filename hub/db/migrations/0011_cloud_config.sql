-- Hub store, schema 11: the configuration the cloud pushes (hub.domain.cloud_config).
--
-- Sections the hub has tables for (taxes, units, categories, products, tenders, roles,
-- employees, infocodes, sales targets, store settings) are written into those tables, keyed by
-- the cloud's ids. The rest (discounts, campaigns, layouts, floor plans, store options) are kept
-- here as JSON documents for the POS pages. Rows are archived (active = 0), never deleted.

CREATE TABLE config_documents (
    section    TEXT NOT NULL,
    key        TEXT NOT NULL,
    body       TEXT NOT NULL,               -- JSON, as decoded and checked against the contract
    revision   INTEGER NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (section, key)
);

-- Every item the cloud has sent, whatever table it went to: its revision and whether it was a
-- tombstone. A section with a row here is managed by the cloud, so a full delta withdraws what
-- it does not name in it.
CREATE TABLE config_items (
    section  TEXT NOT NULL,
    key      TEXT NOT NULL,
    revision INTEGER NOT NULL,
    deleted  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (section, key)
);

-- One row: the version the store runs on, and the last version refused and why.
CREATE TABLE config_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    applied_version  INTEGER NOT NULL DEFAULT 0,
    applied_at       TEXT,
    rejected_version INTEGER NOT NULL DEFAULT 0,
    error            TEXT NOT NULL DEFAULT '',
    error_at         TEXT
);
INSERT INTO config_state (id) VALUES (1);

-- Tender fields the cloud authors that checkout does not use yet (seed 001).
ALTER TABLE tenders ADD COLUMN lunch_voucher TEXT;
ALTER TABLE tenders ADD COLUMN commission_tender TEXT;
ALTER TABLE tenders ADD COLUMN commission_percentage TEXT;
