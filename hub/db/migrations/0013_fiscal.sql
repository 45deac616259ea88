-- Hub store, schema 13: fiscal documents (hub.domain.fiscal).
--
-- One row per thing a fiscal device or signing service must fiscalise: a sale, a refund, a
-- report, and every task of the ErpNet.FP-compatible API (hub.domain.fiscal.erpnet_tasks:
-- receipts, reversal receipts, X/Z reports, cash in/out, duplicates), so that API's task
-- journal is this same durable queue, in order with the store's own sales. A sale's row is
-- written in the same transaction as the sale, so a sale can never exist without its fiscal
-- work queued, and the device worker takes rows in id order per device.
-- `marks` is the driver's journal (JSON): what an interrupted attempt had done, committed
-- before each step it guards, so the next attempt resumes instead of issuing a second receipt.

CREATE TABLE fiscal_documents (
    id             INTEGER PRIMARY KEY,
    sale_id        INTEGER REFERENCES sales (id),
    kind           TEXT NOT NULL
                   CHECK (kind IN ('sale', 'refund', 'z_report', 'x_report', 'cash_in_out', 'duplicate')),
    device_id      TEXT NOT NULL,
    state          TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'fiscalised', 'failed')),
    held_reason    TEXT,                -- why a pending document waits (paper_out, offline ...)
    request        TEXT NOT NULL,       -- the FiscalReceipt (a sale, a refund) or the operation, JSON
    z_number       INTEGER,             -- the hub's Z report a device Z belongs to
    task_id        TEXT,                -- the ErpNet.FP-compatible API's taskId (hub.api.routes_erpnet)
    request_hash   TEXT,                -- that task's request fingerprint: a reused taskId must match it
    not_after      TEXT,                -- that task's deadline: never started after it (ErpNet `timeout`)
    marks          TEXT NOT NULL DEFAULT '{}',
    attempts       INTEGER NOT NULL DEFAULT 0,
    fiscal_number  TEXT,
    device_serial  TEXT,
    qr_data        TEXT,
    result         TEXT,                -- the whole FiscalResult (or the report's totals), JSON
    error          TEXT,
    error_code     TEXT,                -- why it failed: declined, paper_out, cover_open, expired ...
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE UNIQUE INDEX fiscal_documents_sale ON fiscal_documents (sale_id) WHERE sale_id IS NOT NULL;
CREATE UNIQUE INDEX fiscal_documents_z ON fiscal_documents (z_number) WHERE z_number IS NOT NULL;
CREATE UNIQUE INDEX fiscal_documents_task ON fiscal_documents (task_id) WHERE task_id IS NOT NULL;
CREATE INDEX fiscal_documents_open ON fiscal_documents (device_id, id) WHERE state = 'pending';
