-- Hub store, schema 16: reversing a card payment no sale was completed with.
--
-- A reversal is a row of its own (kind 'reversal', `reverses` the payment's id), written and
-- committed before the terminal hears of it like every other card operation, so a restart in
-- the middle asks the terminal how it ended. Once approved, the payment it reverses becomes
-- 'reversed': a checkout retried with that payment's key then charges afresh instead of
-- completing the sale with money that went back. SQLite cannot widen a CHECK in place, so the
-- table is rebuilt with its rows.

CREATE TABLE card_payments_v16 (
    id           INTEGER PRIMARY KEY,
    reference    TEXT NOT NULL UNIQUE,
    sale_key     TEXT NOT NULL,
    line         INTEGER NOT NULL,
    attempt      INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('payment', 'refund', 'reversal')),
    terminal_id  TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    amount       INTEGER NOT NULL,
    state        TEXT NOT NULL CHECK (state IN
                 ('started', 'waiting_for_card', 'approved', 'declined', 'aborted', 'unknown', 'reversed')),
    outcome      TEXT,
    message      TEXT,
    sale_id      INTEGER REFERENCES sales (id),
    reverses     INTEGER REFERENCES card_payments_v16 (id),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (sale_key, line, attempt)
);
INSERT INTO card_payments_v16 (id, reference, sale_key, line, attempt, kind, terminal_id, device_id, amount, state,
                               outcome, message, sale_id, created_at, updated_at)
    SELECT id, reference, sale_key, line, attempt, kind, terminal_id, device_id, amount, state, outcome, message,
           sale_id, created_at, updated_at FROM card_payments;
DROP TABLE card_payments;
ALTER TABLE card_payments_v16 RENAME TO card_payments;
CREATE INDEX card_payments_open ON card_payments (state) WHERE state IN ('started', 'waiting_for_card', 'unknown');
