-- Hub store, schema 15: card payments through the store's terminals (hub.domain.payments).
--
-- A row is written (state 'started') and committed before the terminal hears of the payment,
-- and every change after that is committed as it happens, so a hub that restarts in the middle
-- finds what it was doing and asks the terminal how it ended before anything else. A checkout
-- retried with the same key finds the approved row and completes the sale without charging the
-- card again.

CREATE TABLE card_payments (
    id           INTEGER PRIMARY KEY,
    reference    TEXT NOT NULL UNIQUE,      -- what the terminal is told: sale key, index, attempt
    sale_key     TEXT NOT NULL,             -- the checkout's (or refund's) idempotency key
    line         INTEGER NOT NULL,          -- which payment of the checkout
    attempt      INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('payment', 'refund')),
    terminal_id  TEXT NOT NULL,             -- the POS terminal
    device_id    TEXT NOT NULL,             -- the card terminal
    amount       INTEGER NOT NULL,
    state        TEXT NOT NULL CHECK (state IN
                 ('started', 'waiting_for_card', 'approved', 'declined', 'aborted', 'unknown')),
    outcome      TEXT,                      -- the PaymentOutcome, JSON
    message      TEXT,
    sale_id      INTEGER REFERENCES sales (id),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (sale_key, line, attempt)
);
CREATE INDEX card_payments_open ON card_payments (state) WHERE state IN ('started', 'waiting_for_card', 'unknown');
