-- Hub store, schema 2: the store's settings (one JSON document, versioned) and its terminals.

CREATE TABLE store_settings (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    INTEGER NOT NULL,
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);

-- A terminal is a selling point (a tablet at a till). Receipt numbers run per terminal.
CREATE TABLE terminals (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
