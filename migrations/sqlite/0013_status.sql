-- Public status pages (SQLite): the shared change signal and the status subscribers.

-- The shared change signal: one counter per topic, bumped by triggers in the transaction of the
-- write itself, so a change made by any process (`kabar state set` beside a running serve) is
-- seen by a cheap poll of one row. The `status` topic covers what the public pages show.
CREATE TABLE change_signal (
    topic   TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO change_signal (topic, version) VALUES ('status', 0);

CREATE TRIGGER change_signal_state_change AFTER INSERT ON service_state_changes
BEGIN
    UPDATE change_signal SET version = version + 1 WHERE topic = 'status';
END;
CREATE TRIGGER change_signal_office_insert AFTER INSERT ON offices
BEGIN
    UPDATE change_signal SET version = version + 1 WHERE topic = 'status';
END;
CREATE TRIGGER change_signal_office_update AFTER UPDATE ON offices
BEGIN
    UPDATE change_signal SET version = version + 1 WHERE topic = 'status';
END;

-- Anyone who asked for an office's status updates by email. Not an applicant: no booking, no
-- phone, never an applicant notice. Tokens are kept only as SHA-256 hashes.
CREATE TABLE status_subscribers (
    id                 INTEGER PRIMARY KEY,
    email              TEXT NOT NULL,
    office_code        TEXT NOT NULL REFERENCES offices (code),
    language           TEXT NOT NULL CHECK (language IN ('id', 'en')),
    status             TEXT NOT NULL CHECK (status IN ('pending', 'active', 'unsubscribed')),
    confirm_hash       TEXT NOT NULL UNIQUE,
    unsubscribe_hash   TEXT NOT NULL UNIQUE,
    created_at         BIGINT NOT NULL,
    confirmed_at       BIGINT,
    unsubscribed_at    BIGINT,
    -- The newest state change this subscriber was sent (or had when confirming).
    last_change_id     BIGINT NOT NULL DEFAULT 0,
    UNIQUE (email, office_code)
);

-- Mails to subscribers waiting for the sender: the confirmation link, and one update per state
-- change of the office. Quiet hours set not_before, as for applicants' notices.
CREATE TABLE status_mails (
    id            INTEGER PRIMARY KEY,
    subscriber_id BIGINT NOT NULL REFERENCES status_subscribers (id),
    kind          TEXT NOT NULL CHECK (kind IN ('confirm', 'update')),
    change_id     BIGINT,
    status        TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'cancelled')),
    not_before    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    sent_at       BIGINT,
    failure       TEXT,
    UNIQUE (subscriber_id, kind, change_id)
);
CREATE INDEX status_mails_due ON status_mails (status, not_before);
