-- Hub store, schema 9: infocodes (seed 001): prompts at POS events, their sub-codes, and the
-- answers kept with the cart and then the receipt.

CREATE TABLE infocodes (
    id                INTEGER PRIMARY KEY,
    code              TEXT NOT NULL UNIQUE,
    prompt            TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    trigger           TEXT NOT NULL,
    input_type        TEXT NOT NULL,
    subscription_type TEXT NOT NULL DEFAULT 'ALWAYS',
    validation        TEXT NOT NULL DEFAULT '{}',   -- JSON: required, minlen, maxlen, minval, maxval
    priority          INTEGER NOT NULL DEFAULT 0,
    once_per_receipt  INTEGER NOT NULL DEFAULT 0,
    printing          TEXT,                         -- printprompt | printinput | printtype | NULL
    link              TEXT,
    default_value     TEXT,
    plu_id            INTEGER,                      -- product
    dpt_id            INTEGER,                      -- category
    grp_id            INTEGER,                      -- parent category (group)
    tender_id         TEXT,
    active            INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX infocodes_by_trigger ON infocodes (trigger) WHERE active = 1;

CREATE TABLE infocode_subcodes (
    id          INTEGER PRIMARY KEY,
    infocode_id INTEGER NOT NULL REFERENCES infocodes (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    function    TEXT,
    target      TEXT,
    amount      INTEGER
);

-- One answer per prompt occurrence: the scope says which (the receipt, a product, a tender).
CREATE TABLE infocode_answers (
    id          INTEGER PRIMARY KEY,
    cart_id     TEXT NOT NULL,
    infocode_id INTEGER NOT NULL REFERENCES infocodes (id),
    trigger     TEXT NOT NULL,
    scope       TEXT NOT NULL,                      -- "receipt", "product:12", "tender:card", ...
    value       TEXT NOT NULL,
    subcode_id  INTEGER REFERENCES infocode_subcodes (id),
    answered_by TEXT NOT NULL,
    answered_at TEXT NOT NULL,
    sale_id     INTEGER REFERENCES sales (id),
    UNIQUE (cart_id, infocode_id, scope)
);
CREATE INDEX infocode_answers_by_sale ON infocode_answers (sale_id);
