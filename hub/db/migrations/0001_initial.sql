-- Hub store, schema 1: the foundation (meta, credentials, audit, websocket events, print jobs).

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Bearer tokens for the LAN API. Only a SHA-256 of the token is stored: tokens are 256-bit
-- random values, so a slow password hash buys nothing; PINs (low entropy) use argon2 instead.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'device')),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

CREATE TABLE pairing_codes (
    id         INTEGER PRIMARY KEY,
    code_hash  TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    token_id   INTEGER REFERENCES api_tokens (id)
);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    details TEXT NOT NULL DEFAULT '{}'
);

-- Websocket event log. AUTOINCREMENT so that ids are never reused after old rows are pruned:
-- a tablet that reconnects with the last id it saw must never be handed a different event.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- One durable queue per device: the rows of a device in id order.
CREATE TABLE print_jobs (
    id              INTEGER PRIMARY KEY,
    device_id       TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    request_hash    TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('document', 'raw', 'drawer')),
    state           TEXT NOT NULL
                    CHECK (state IN ('queued', 'printing', 'held', 'done', 'failed', 'canceled')),
    reason          TEXT,
    -- Attempts that reached the printer. Anything past the first is printed marked as a copy,
    -- because an earlier attempt may have put paper out of the printer.
    attempts        INTEGER NOT NULL DEFAULT 0,
    copies_printed  INTEGER NOT NULL DEFAULT 0,
    source          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    finished_at     TEXT
);

-- What a job asked for (the document as JSON, raw bytes, drawer parameters) and the bytes
-- rendered from it at submission, which also proved it renders at all. Kept apart from the job
-- row, which changes state several times: an update then rewrites a few small columns, not
-- kilobytes of receipt.
CREATE TABLE print_job_data (
    job_id   INTEGER PRIMARY KEY REFERENCES print_jobs (id),
    payload  BLOB NOT NULL,
    rendered BLOB NOT NULL
);

CREATE INDEX print_jobs_open ON print_jobs (device_id, id)
    WHERE state IN ('queued', 'printing', 'held');
CREATE INDEX print_jobs_device ON print_jobs (device_id, id);
