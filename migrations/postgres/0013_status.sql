-- Public status pages (PostgreSQL): the shared change signal.

-- The shared change signal: one counter per topic, bumped by triggers in the transaction of the
-- write itself, and a NOTIFY on channel kabar_changes (payload: the topic) that listeners in
-- every process receive at commit. The `status` topic covers what the public pages show.
CREATE TABLE change_signal (
    topic   TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO change_signal (topic, version) VALUES ('status', 0);

CREATE FUNCTION kabar_status_changed() RETURNS trigger AS $$
BEGIN
    UPDATE change_signal SET version = version + 1 WHERE topic = 'status';
    PERFORM pg_notify('kabar_changes', 'status');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER change_signal_state_change AFTER INSERT ON service_state_changes
    FOR EACH STATEMENT EXECUTE FUNCTION kabar_status_changed();
CREATE TRIGGER change_signal_offices AFTER INSERT OR UPDATE ON offices
    FOR EACH STATEMENT EXECUTE FUNCTION kabar_status_changed();
