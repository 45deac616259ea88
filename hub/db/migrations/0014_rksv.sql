-- Hub store, schema 14: the Austrian RKSV cashbox (hub.domain.fiscal.rksv_store).
--
-- Every signed (or failed-signature) receipt with the cashbox state after it, written in one
-- transaction: the chain, the turnover counter and the receipt number can never disagree with
-- the receipts issued. `request_id` finds a receipt again when its sale is retried.

CREATE TABLE rksv_receipts (
    receipt_number INTEGER PRIMARY KEY,     -- 1, 2, ... per cashbox: gap-free
    request_id     TEXT NOT NULL UNIQUE,
    state          TEXT NOT NULL,           -- the RksvState after this receipt, JSON
    result         TEXT NOT NULL,           -- the FiscalResult, JSON
    created_at     TEXT NOT NULL
);
