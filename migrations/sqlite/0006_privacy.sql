-- The audit log (SQLite): one row per write, appended in the transaction of the change it
-- records. Rows are never changed or deleted (the triggers below refuse it), and each row holds
-- the SHA-256 of its own canonical content and the previous row's hash, so `kabar audit verify`
-- finds the first row that was altered or removed. Rows hold ids and masked numbers, never
-- personal data itself, so erasing an applicant leaves the chain intact.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,  -- the row's place in the chain: 1, 2, 3, … without gaps
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,        -- cli:<OS user>, staff:<username>, token:<name>, system:<task>
    action     TEXT NOT NULL,        -- e.g. applicant.erase, retention.purge
    target     TEXT NOT NULL,        -- e.g. applicant:42
    offices    TEXT NOT NULL,        -- comma-separated office codes; empty: no office in particular
    request_id TEXT,
    client     TEXT,                 -- the client's address, for requests over HTTP
    summary    TEXT NOT NULL,        -- JSON: what changed (before/after, counts)
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);

-- The end of the chain: the last row's place and hash. Appenders take it in turn (an UPDATE of
-- this one row), so the chain stays linear however many write at once; it also tells a verifier
-- that rows were removed from the end.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be changed');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be deleted');
END;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'audit_head cannot be deleted');
END;
CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head WHEN NEW.seq < OLD.seq
BEGIN
    SELECT RAISE(ABORT, 'audit_head only moves forward');
END;
