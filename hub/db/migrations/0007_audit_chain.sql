-- Hub store, schema 7: the audit log becomes append-only and hash-chained.
--
-- Every row carries hash = sha256(prev_hash + canonical JSON of the row) and the hash of the row
-- before it (see hub/domain/audit.py), so a changed, removed or reordered row breaks the chain
-- and `smartpos-hub audit verify` names it.
--
-- Rows written before this migration have no hash. SQLite has no SHA-256 in SQL, so they are
-- chained ("sealed") by the first audit.record() after the upgrade, in the same transaction as
-- that new entry. Until then verify reports them as legacy rows, not as tampering; the id of the
-- newest legacy row is kept in meta so that a row whose hash is cleared later is not mistaken
-- for one.

ALTER TABLE audit_log ADD COLUMN terminal TEXT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;

-- Only when there are such rows: no key means none (a new store gets no extra meta row).
INSERT INTO meta (key, value)
SELECT 'audit.legacy_max_id', CAST(MAX(id) AS TEXT) FROM audit_log HAVING COUNT(*) > 0;

-- Append-only. The one update allowed is the sealing of a legacy row: it may set prev_hash and
-- hash once, on a row that has no hash yet, and change nothing else. Anything else aborts.
-- (Someone with write access to the file can drop these triggers; verify catches what they do
-- then, short of rewriting the whole chain, which only an external anchor of the head hash can.)
CREATE TRIGGER audit_log_no_update
BEFORE UPDATE ON audit_log
WHEN OLD.hash IS NOT NULL
    OR NEW.hash IS NULL
    OR NEW.prev_hash IS NULL
    OR NEW.id IS NOT OLD.id
    OR NEW.at IS NOT OLD.at
    OR NEW.actor IS NOT OLD.actor
    OR NEW.action IS NOT OLD.action
    OR NEW.target IS NOT OLD.target
    OR NEW.details IS NOT OLD.details
    OR NEW.terminal IS NOT OLD.terminal
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete
BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;

-- The API filters by time and lists newest first; actor/action filters scan within that.
CREATE INDEX audit_log_at ON audit_log (at);
