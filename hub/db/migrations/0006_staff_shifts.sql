-- Hub store, schema 6: employees, roles and the permission matrix, staff sessions and PIN
-- lock-outs, terminal presence, shifts with cash movements and checklists, X/Z reports.

CREATE TABLE role_permissions (
    role       TEXT NOT NULL,
    permission TEXT NOT NULL,
    PRIMARY KEY (role, permission)
);

CREATE TABLE employees (
    id              INTEGER PRIMARY KEY,
    cashier_num     INTEGER NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'employee', 'cashier', 'waiter')),
    location_id     TEXT,
    pin_hash        TEXT NOT NULL,              -- argon2id
    training        INTEGER NOT NULL DEFAULT 0,
    manager         INTEGER NOT NULL DEFAULT 0,
    selfservice     INTEGER NOT NULL DEFAULT 0,
    cardnumber      TEXT UNIQUE,
    pos_layout      TEXT,
    layout_page     INTEGER,
    pos_language    TEXT,
    commission_rate TEXT NOT NULL DEFAULT '0',
    phone           TEXT,
    email           TEXT,
    active          INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

-- Wrong PINs per employee and per terminal: after 5, a lock-out that doubles each time.
CREATE TABLE login_failures (
    scope        TEXT PRIMARY KEY,              -- "employee:7" or "terminal:T1"
    failures     INTEGER NOT NULL,
    locked_until TEXT,
    updated_at   TEXT NOT NULL
);

CREATE TABLE staff_sessions (
    token_hash  TEXT PRIMARY KEY,
    employee_id INTEGER NOT NULL REFERENCES employees (id),
    device      TEXT NOT NULL,                  -- the paired device's actor the session is bound to
    terminal_id TEXT NOT NULL,
    preview     INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    ended_at    TEXT
);
CREATE INDEX staff_sessions_open ON staff_sessions (terminal_id) WHERE ended_at IS NULL;

ALTER TABLE terminals ADD COLUMN last_seen_at TEXT;
ALTER TABLE terminals ADD COLUMN last_device TEXT;

CREATE TABLE shifts (
    id             INTEGER PRIMARY KEY,
    terminal_id    TEXT NOT NULL,
    employee_id    INTEGER NOT NULL REFERENCES employees (id),
    state          TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    opened_at      TEXT NOT NULL,
    opening_cash   INTEGER NOT NULL CHECK (opening_cash >= 0),
    opening_reason TEXT,
    late_minutes   INTEGER NOT NULL DEFAULT 0,
    late_reason    TEXT,
    closed_at      TEXT,
    closed_by      TEXT,
    auto_closed    INTEGER NOT NULL DEFAULT 0,
    early_minutes  INTEGER NOT NULL DEFAULT 0,
    early_reason   TEXT,
    expense_notes  TEXT,
    summary        TEXT                         -- JSON: expected, counted and difference per tender
);
-- At most one open shift per terminal: the occupation check, enforced by the store itself.
CREATE UNIQUE INDEX shifts_one_open_per_terminal ON shifts (terminal_id) WHERE state = 'open';

CREATE TABLE cash_movements (
    id          INTEGER PRIMARY KEY,
    shift_id    INTEGER NOT NULL REFERENCES shifts (id),
    kind        TEXT NOT NULL CHECK (kind IN ('cash_in', 'cash_out', 'handover', 'postal_cod', 'commission')),
    amount      INTEGER NOT NULL CHECK (amount > 0),
    tender_type TEXT NOT NULL DEFAULT 'cash',
    reason      TEXT NOT NULL,
    receiver_id INTEGER REFERENCES employees (id),
    details     TEXT,                           -- JSON: packages, goods owner ...
    actor       TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX cash_movements_by_shift ON cash_movements (shift_id);

ALTER TABLE sales ADD COLUMN shift_id INTEGER REFERENCES shifts (id);
ALTER TABLE sales ADD COLUMN employee_id INTEGER REFERENCES employees (id);
CREATE INDEX sales_by_shift ON sales (shift_id);

CREATE TABLE checklist_tasks (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    mandatory  INTEGER NOT NULL DEFAULT 1,
    frequency  TEXT NOT NULL DEFAULT 'daily' CHECK (frequency IN ('daily', 'weekly', 'monthly')),
    active     INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE checklist_done (
    task_id     INTEGER NOT NULL REFERENCES checklist_tasks (id),
    period      TEXT NOT NULL,                  -- the business date (daily), ISO week or month
    terminal_id TEXT NOT NULL,
    done_by     TEXT NOT NULL,
    done_at     TEXT NOT NULL,
    PRIMARY KEY (task_id, period, terminal_id)
);

-- Z reports: numbered without gaps; each covers the documents after the previous Z.
CREATE TABLE z_reports (
    id            INTEGER PRIMARY KEY,
    number        INTEGER NOT NULL UNIQUE,
    store_id      TEXT NOT NULL,
    business_date TEXT NOT NULL,
    first_sale_id INTEGER,
    last_sale_id  INTEGER,
    totals        TEXT NOT NULL,                -- JSON: the day's figures
    grand_total   INTEGER NOT NULL,             -- running sales total over every Z
    grand_refunds INTEGER NOT NULL,             -- running refunds total over every Z
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL
);
CREATE TRIGGER z_reports_immutable_update BEFORE UPDATE ON z_reports
BEGIN SELECT RAISE(ABORT, 'a Z report is immutable'); END;
CREATE TRIGGER z_reports_immutable_delete BEFORE DELETE ON z_reports
BEGIN SELECT RAISE(ABORT, 'a Z report is immutable'); END;
