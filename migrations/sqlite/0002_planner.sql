-- Incidents, the settled changes the planner acted on, and the messages it planned (SQLite).

-- The planner finds an office's affected bookings by stage and appointment; the index carries
-- every column it reads, so planning never visits the table.
DROP INDEX bookings_office_stage_appointment;
CREATE INDEX bookings_planner ON bookings (office_code, stage, appointment_at, applicant_id, product, express);

-- What the planner last acted on for each (office, service): a change is settled once it has
-- stood for the settle time, and only then compared with what applicants were last told.
ALTER TABLE service_states ADD COLUMN change_id BIGINT;
ALTER TABLE service_states ADD COLUMN notified_state TEXT NOT NULL DEFAULT 'operational'
    CHECK (notified_state IN ('operational', 'degraded', 'unavailable'));

-- One office's disruption, from the first service that stops to the last that comes back.
CREATE TABLE incidents (
    id          INTEGER PRIMARY KEY,
    office_code TEXT NOT NULL REFERENCES offices (code),
    opened_at   BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE UNIQUE INDEX incidents_one_open_per_office ON incidents (office_code) WHERE resolved_at IS NULL;

-- What applicants hear about: a settled change of one service (change_id), or the periodic
-- update of an open incident on one local day (slot, e.g. '2024-06-21'). Replaying either finds the
-- event by its unique key and plans nothing new.
CREATE TABLE notice_events (
    id          INTEGER PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    office_code TEXT NOT NULL REFERENCES offices (code),
    service     TEXT,
    from_state  TEXT CHECK (from_state IN ('operational', 'degraded', 'unavailable')),
    to_state    TEXT CHECK (to_state IN ('operational', 'degraded', 'unavailable')),
    change_id   BIGINT REFERENCES service_state_changes (id),
    slot        TEXT,
    planned_at  BIGINT NOT NULL,
    CHECK ((change_id IS NOT NULL AND service IS NOT NULL AND slot IS NULL)
        OR (change_id IS NULL AND slot IS NOT NULL)),
    UNIQUE (office_code, service, change_id),
    UNIQUE (office_code, slot)
);
CREATE INDEX notice_events_incident ON notice_events (incident_id, service);

-- The outbox: one message per applicant per event, on the applicant's first usable channel.
-- messages and message_bookings are written only by the planner's INSERT … SELECT, which takes
-- every key from its parent row in the same transaction, and parents are never deleted; per-row
-- foreign-key checks would be random lookups into the largest tables and double planning time.
-- (A future retention job deletes messages before the applicants they reference.)
CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    event_id     BIGINT NOT NULL,
    applicant_id BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    language     TEXT NOT NULL CHECK (language IN ('id', 'en')),
    channel      TEXT CHECK (channel IN ('whatsapp', 'sms', 'email')), -- NULL: no usable channel
    status       TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'read',
                                                 'failed', 'cancelled', 'unreachable')),
    not_before   BIGINT NOT NULL,   -- quiet hours: not sent before this instant
    created_at   BIGINT NOT NULL,
    UNIQUE (event_id, applicant_id)
);
CREATE INDEX messages_due ON messages (status, not_before);

-- The bookings a message is about (an applicant with two bookings gets one message listing both).
CREATE TABLE message_bookings (
    message_id BIGINT NOT NULL,
    booking_id BIGINT NOT NULL,
    PRIMARY KEY (message_id, booking_id)
);
