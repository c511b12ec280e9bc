-- The audit log (PostgreSQL): one row per write, appended in the transaction of the change it
-- records. Rows are never changed or deleted (the triggers below refuse it), and each row holds
-- the SHA-256 of its own canonical content and the previous row's hash, so `kabar audit verify`
-- finds the first row that was altered or removed. Rows hold ids and masked numbers, never
-- personal data itself, so erasing an applicant leaves the chain intact.
CREATE TABLE audit_log (
    id         BIGINT PRIMARY KEY,   -- the row's place in the chain: 1, 2, 3, … without gaps
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
-- this one row locks it until their transaction ends), so the chain stays linear however many
-- write at once; it also tells a verifier that rows were removed from the end.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'audit_head' AND TG_OP = 'UPDATE' THEN
        IF NEW.seq < OLD.seq THEN
            RAISE EXCEPTION 'audit_head only moves forward';
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: rows cannot be %', TG_TABLE_NAME,
        CASE TG_OP WHEN 'UPDATE' THEN 'changed' ELSE 'deleted' END;
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
