-- Public status pages (SQLite): the shared change signal.

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
