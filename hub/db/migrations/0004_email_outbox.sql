-- Hub store, schema 4: e-mails (receipts, invoices) waiting for or sent through the SMTP relay.
-- Written in the transaction of the sale that asks for them (principle 3), sent by the relay
-- with retries; the idempotency key makes a repeated request queue one message.

CREATE TABLE emails (
    id               INTEGER PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    to_addr          TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    attachment_name  TEXT,
    attachment_type  TEXT,
    attachment       BLOB,
    state            TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    sent_at          TEXT
);
CREATE INDEX emails_due ON emails (state, next_attempt_at);
