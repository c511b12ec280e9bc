-- Incidents for staff (SQLite): the updates staff write to an incident's audience, and the
-- outcomes of the calls staff make from the call list.

-- A staff-written update of an incident. Its messages are planned as a broadcast (kind
-- 'broadcast', the staff text) to the applicants the incident's notices were for, so the
-- dispatcher renders and sends it as any broadcast.
CREATE TABLE incident_updates (
    id           INTEGER PRIMARY KEY,
    incident_id  BIGINT NOT NULL REFERENCES incidents (id),
    broadcast_id BIGINT NOT NULL REFERENCES broadcasts (id),
    text_id      TEXT NOT NULL,
    text_en      TEXT,
    actor        TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX incident_updates_incident ON incident_updates (incident_id, id);
CREATE UNIQUE INDEX incident_updates_broadcast ON incident_updates (broadcast_id);

-- What came of phoning an applicant about a booking; the last outcome is where things stand.
CREATE TABLE call_outcomes (
    id          INTEGER PRIMARY KEY,
    booking_id  BIGINT NOT NULL,  -- no foreign key: erasing an applicant deletes these first
    office_code TEXT NOT NULL REFERENCES offices (code),
    outcome     TEXT NOT NULL CHECK (outcome IN ('reached', 'no_answer', 'wrong_number', 'voicemail')),
    note        TEXT,
    actor       TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX call_outcomes_booking ON call_outcomes (booking_id, id);
