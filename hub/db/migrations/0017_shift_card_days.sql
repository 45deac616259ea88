-- Hub store, schema 17: the card terminal's end of day run for closing a shift, kept.
--
-- Closing a shift first closes its card terminal's day (where configured) and then the shift.
-- Should the close fail after the terminal's day was closed (a crash, a database error), the
-- retry finds the report here and prints it, instead of closing the terminal's day again.

CREATE TABLE shift_card_days (
    shift_id  INTEGER PRIMARY KEY REFERENCES shifts (id),
    lines     TEXT NOT NULL,               -- the terminal's report lines, JSON
    closed_at TEXT NOT NULL
);
