-- Hub store, schema 10: remote jobs received from the cloud. A job id is run at most once:
-- QoS 1 may deliver a job twice, and an open drawer must not open twice.

CREATE TABLE remote_jobs (
    job_id      TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    params      TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELED')),
    detail      TEXT NOT NULL DEFAULT '',
    result      TEXT NOT NULL DEFAULT '{}',
    received_at TEXT NOT NULL,
    finished_at TEXT
);
