-- Delivery (SQLite): the outbox gains what the dispatcher needs (provider, provider id, failure,
-- attempts, lease), manual broadcasts become a second source of messages, every try is an
-- attempt row, inbound replies are kept, and offices get the contact facts notices print.

ALTER TABLE offices ADD COLUMN phone TEXT;
ALTER TABLE offices ADD COLUMN address TEXT;
ALTER TABLE offices ADD COLUMN website TEXT;
ALTER TABLE offices ADD COLUMN instagram TEXT;

-- A staff-written or catalogue notice to a filtered audience, sent now or at `send_at`.
CREATE TABLE broadcasts (
    id           INTEGER PRIMARY KEY,
    title        TEXT NOT NULL,
    filter       TEXT NOT NULL,   -- the audience filter as JSON, for `broadcast show`
    kind         TEXT NOT NULL,   -- a notice kind; 'broadcast' for staff-written text
    text_id      TEXT,            -- staff-written text (kind 'broadcast')
    text_en      TEXT,
    sender       TEXT,
    pickup_hours TEXT,            -- JSON of the pickup hours (kind 'ready_for_pickup')
    channels     TEXT NOT NULL,   -- preference order, comma-separated
    status       TEXT NOT NULL CHECK (status IN ('scheduled', 'planned', 'cancelled')),
    send_at      BIGINT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    planned_at   BIGINT,
    cancelled_at BIGINT
);
CREATE INDEX broadcasts_due ON broadcasts (status, send_at);

-- SQLite cannot drop NOT NULL from event_id: the table is rebuilt with the same ids. Its checks
-- are written with OR, not IN (…): SQLite builds a lookup table for an IN list on every row it
-- checks, which made a million-row INSERT … SELECT half again as slow.
CREATE TABLE messages_v3 (
    id                  INTEGER PRIMARY KEY,
    event_id            BIGINT,   -- a notice event of an incident, or
    broadcast_id        BIGINT,   -- a broadcast
    office_code         TEXT NOT NULL,    -- the office that speaks (one message per office)
    applicant_id        BIGINT NOT NULL,
    kind                TEXT NOT NULL,
    language            TEXT NOT NULL CHECK (language = 'id' OR language = 'en'),
    channel             TEXT CHECK (channel = 'whatsapp' OR channel = 'sms' OR channel = 'email'), -- NULL: no usable channel
    status              TEXT NOT NULL CHECK (status = 'queued' OR status = 'sending' OR status = 'sent'
                            OR status = 'delivered' OR status = 'read' OR status = 'failed'
                            OR status = 'cancelled' OR status = 'unreachable'),
    failure_class       TEXT CHECK (failure_class = 'temporary' OR failure_class = 'permanent'
                            OR failure_class = 'technical'),
    failure_reason      TEXT,
    provider            TEXT,     -- the provider that accepted (or last tried) it
    provider_message_id TEXT,
    attempts            INTEGER NOT NULL DEFAULT 0,       -- claims in all; fences a stale claim's outcome
    channel_attempts    BIGINT NOT NULL DEFAULT 0,        -- tries on the current channel (the retry budget)
    not_before          BIGINT NOT NULL,  -- quiet hours, retry backoff, or the lease of a claim
    created_at          BIGINT NOT NULL,
    sent_at             BIGINT,
    delivered_at        BIGINT,
    read_at             BIGINT,
    failed_at           BIGINT,
    CHECK ((event_id IS NULL) <> (broadcast_id IS NULL)),
    UNIQUE (event_id, applicant_id)
);
INSERT INTO messages_v3 (id, event_id, office_code, applicant_id, kind, language, channel, status, not_before, created_at)
SELECT m.id, m.event_id, e.office_code, m.applicant_id, m.kind, m.language, m.channel, m.status, m.not_before, m.created_at
FROM messages m JOIN notice_events e ON e.id = m.event_id;
DROP TABLE messages;
ALTER TABLE messages_v3 RENAME TO messages;
CREATE INDEX messages_due ON messages (status, not_before);
CREATE UNIQUE INDEX messages_one_per_broadcast ON messages (broadcast_id, office_code, applicant_id)
    WHERE broadcast_id IS NOT NULL;
-- Receipts find their message by the provider's id.
CREATE UNIQUE INDEX messages_provider_id ON messages (provider, provider_message_id)
    WHERE provider_message_id IS NOT NULL;

-- Every try of every message: what was asked of whom, how long it took, what came back.
CREATE TABLE message_attempts (
    id            INTEGER PRIMARY KEY,
    message_id    BIGINT NOT NULL REFERENCES messages (id),
    channel       TEXT NOT NULL CHECK (channel IN ('whatsapp', 'sms', 'email')),
    provider      TEXT NOT NULL,
    started_at    BIGINT NOT NULL,
    duration_ms   BIGINT NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('accepted', 'temporary', 'permanent', 'technical')),
    response_code TEXT,
    error         TEXT
);
CREATE INDEX message_attempts_message ON message_attempts (message_id);

-- Replies that changed something (STOP/BERHENTI); the text itself is not kept.
CREATE TABLE inbound_replies (
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL CHECK (channel IN ('whatsapp', 'sms')),
    provider    TEXT NOT NULL,
    mobile      TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('opt_out', 'none')),
    received_at BIGINT NOT NULL
);
