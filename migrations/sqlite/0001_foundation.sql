-- Offices, service units, applicants, bookings and service states (SQLite).
-- Instants are seconds since the Unix epoch (UTC); dates are ISO text; booleans are 0/1.

CREATE TABLE offices (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    class       TEXT NOT NULL CHECK (class IN ('i', 'ii', 'iii')),
    tpi         BOOLEAN NOT NULL CHECK (tpi IN (0, 1)),
    region      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE units (
    code        TEXT PRIMARY KEY,
    office_code TEXT NOT NULL REFERENCES offices (code),
    name        TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX units_office ON units (office_code);

-- One row per mobile number: M-Paspor bookings are matched to applicants by phone.
CREATE TABLE applicants (
    id                 INTEGER PRIMARY KEY,
    mobile             TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    email              TEXT,
    whatsapp           TEXT,            -- NULL: the mobile number is the WhatsApp number
    language           TEXT CHECK (language IN ('id', 'en')), -- NULL: not stated, Indonesian
    whatsapp_opted_out BOOLEAN NOT NULL DEFAULT FALSE CHECK (whatsapp_opted_out IN (0, 1)),
    sms_opted_out      BOOLEAN NOT NULL DEFAULT FALSE CHECK (sms_opted_out IN (0, 1)),
    email_opted_out    BOOLEAN NOT NULL DEFAULT FALSE CHECK (email_opted_out IN (0, 1)),
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

CREATE TABLE bookings (
    id             INTEGER PRIMARY KEY,
    code           TEXT NOT NULL UNIQUE,
    applicant_id   BIGINT NOT NULL REFERENCES applicants (id),
    office_code    TEXT NOT NULL REFERENCES offices (code),
    unit_code      TEXT REFERENCES units (code),
    holder_name    TEXT NOT NULL,
    appointment_at BIGINT NOT NULL,
    product        TEXT NOT NULL CHECK (product IN ('regular', 'epassport')),
    express        BOOLEAN NOT NULL CHECK (express IN (0, 1)),
    stage          TEXT NOT NULL CHECK (stage IN ('booked', 'attended', 'paid', 'printing', 'printed',
                                                  'ready', 'picked_up', 'cancelled', 'no_show')),
    applied_on     TEXT,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX bookings_office_stage_appointment ON bookings (office_code, stage, appointment_at);
CREATE INDEX bookings_applicant ON bookings (applicant_id);

-- The current state of each (office, service); a missing row means operational.
CREATE TABLE service_states (
    office_code TEXT NOT NULL REFERENCES offices (code),
    service     TEXT NOT NULL CHECK (service IN ('registration', 'biometrics', 'printing', 'epassport',
                    'express', 'pickup', 'stay_permit', 'border_crossing', 'visa', 'travel_ban')),
    state       TEXT NOT NULL CHECK (state IN ('operational', 'degraded', 'unavailable')),
    reason      TEXT,
    expected_at BIGINT,
    actor       TEXT NOT NULL,
    changed_at  BIGINT NOT NULL,
    PRIMARY KEY (office_code, service)
);

-- Every change ever made, in order.
CREATE TABLE service_state_changes (
    id          INTEGER PRIMARY KEY,
    office_code TEXT NOT NULL REFERENCES offices (code),
    service     TEXT NOT NULL,
    from_state  TEXT NOT NULL CHECK (from_state IN ('operational', 'degraded', 'unavailable')),
    to_state    TEXT NOT NULL CHECK (to_state IN ('operational', 'degraded', 'unavailable')),
    reason      TEXT,
    expected_at BIGINT,
    actor       TEXT NOT NULL,
    changed_at  BIGINT NOT NULL
);
CREATE INDEX service_state_changes_office ON service_state_changes (office_code, service, id);
