-- Email subscriptions to an office's public status (SQLite): people who are not applicants ask
-- for the office's updates by email, confirm by a link (double opt-in) and leave with one click.
-- Their mails go through the same outbox as applicant notices: a message is for an applicant or
-- for a subscriber, never both.

-- A per-database secret, made at first use (`Store::server_secret`): it signs the public
-- subscribe form and derives the confirmation and unsubscribe tokens, so every process of one
-- database (serve, worker) agrees on them without a configured key.
CREATE TABLE server_secrets (
    name       TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,   -- hex of 32 random bytes
    created_at BIGINT NOT NULL
);

-- One address subscribed to one office. Tokens are not stored: only the SHA-256 of each (the
-- worker derives them again from the secret and `token_salt` to write the mail).
CREATE TABLE status_subscribers (
    id                 INTEGER PRIMARY KEY,
    office_code        TEXT NOT NULL REFERENCES offices (code),
    email              TEXT NOT NULL,   -- lower case; never shown on a public page or logged
    language           TEXT NOT NULL CHECK (language = 'id' OR language = 'en'),
    status             TEXT NOT NULL CHECK (status = 'pending' OR status = 'confirmed' OR status = 'unsubscribed'),
    token_salt         TEXT NOT NULL,
    confirm_hash       TEXT NOT NULL,
    unsubscribe_hash   TEXT NOT NULL,
    confirm_expires_at BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    confirmed_at       BIGINT,
    after_change_id    BIGINT NOT NULL DEFAULT 0,   -- updates are for state changes after this one
    unsubscribed_at    BIGINT,
    UNIQUE (office_code, email)
);
CREATE UNIQUE INDEX status_subscribers_confirm ON status_subscribers (confirm_hash);
CREATE UNIQUE INDEX status_subscribers_unsubscribe ON status_subscribers (unsubscribe_hash);
CREATE INDEX status_subscribers_office ON status_subscribers (office_code, status);

-- The state changes whose subscriber updates are planned: the planner looks only at changes not
-- in here (state changes are few; this keeps each round from probing every subscriber again).
CREATE TABLE status_change_mailings (
    change_id  BIGINT PRIMARY KEY,
    messages   BIGINT NOT NULL,
    planned_at BIGINT NOT NULL
);

-- SQLite cannot drop NOT NULL from applicant_id: the table is rebuilt with the same ids. So is
-- message_attempts, whose foreign key would refuse dropping the old table (the pragma that turns
-- foreign keys off has no effect inside the migration's transaction): the new attempts table
-- refers to messages_v17, which the rename below rewrites to messages.
-- subscriber_id: a subscriber's message, its kind 'status_confirm' (no source) or
-- 'status_update' about one state change (status_change_id).
CREATE TABLE messages_v17 (
    id                  INTEGER PRIMARY KEY,
    event_id            BIGINT,   -- a notice event of an incident, or
    broadcast_id        BIGINT,   -- a broadcast (applicant messages)
    office_code         TEXT NOT NULL,    -- the office that speaks (one message per office)
    applicant_id        BIGINT,           -- an applicant's message, or
    subscriber_id       BIGINT,           -- a status subscriber's
    status_change_id    BIGINT,           -- the state change a subscriber's update is about
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
    booking_ids         TEXT NOT NULL DEFAULT '[]',
    claimed_by          TEXT,
    -- An applicant's message comes from an event or a broadcast; a subscriber's from neither.
    CHECK ((applicant_id IS NOT NULL AND subscriber_id IS NULL AND status_change_id IS NULL
            AND (event_id IS NULL) <> (broadcast_id IS NULL))
        OR (applicant_id IS NULL AND subscriber_id IS NOT NULL AND event_id IS NULL AND broadcast_id IS NULL)),
    UNIQUE (event_id, applicant_id)
);
INSERT INTO messages_v17 (id, event_id, broadcast_id, office_code, applicant_id, kind, language, channel, status,
                          failure_class, failure_reason, provider, provider_message_id, attempts, channel_attempts,
                          not_before, created_at, sent_at, delivered_at, read_at, failed_at, booking_ids, claimed_by)
SELECT id, event_id, broadcast_id, office_code, applicant_id, kind, language, channel, status,
       failure_class, failure_reason, provider, provider_message_id, attempts, channel_attempts,
       not_before, created_at, sent_at, delivered_at, read_at, failed_at, booking_ids, claimed_by
FROM messages;
CREATE TABLE message_attempts_v17 (
    id            INTEGER PRIMARY KEY,
    message_id    BIGINT NOT NULL REFERENCES messages_v17 (id),
    channel       TEXT NOT NULL CHECK (channel IN ('whatsapp', 'sms', 'email')),
    provider      TEXT NOT NULL,
    started_at    BIGINT NOT NULL,
    duration_ms   BIGINT NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('accepted', 'temporary', 'permanent', 'technical')),
    response_code TEXT,
    error         TEXT
);
INSERT INTO message_attempts_v17 (id, message_id, channel, provider, started_at, duration_ms, outcome, response_code, error)
SELECT id, message_id, channel, provider, started_at, duration_ms, outcome, response_code, error
FROM message_attempts;
DROP TABLE message_attempts;
DROP TABLE messages;
ALTER TABLE messages_v17 RENAME TO messages;
ALTER TABLE message_attempts_v17 RENAME TO message_attempts;
CREATE INDEX message_attempts_message ON message_attempts (message_id);
CREATE INDEX messages_due ON messages (status, not_before);
CREATE UNIQUE INDEX messages_one_per_broadcast ON messages (broadcast_id, office_code, applicant_id)
    WHERE broadcast_id IS NOT NULL;
CREATE UNIQUE INDEX messages_provider_id ON messages (provider, provider_message_id)
    WHERE provider_message_id IS NOT NULL;
CREATE INDEX messages_claimed_by ON messages (claimed_by) WHERE status = 'sending';
-- One update per subscriber per state change: planning again plans nothing twice. Also finds a
-- subscriber's queued messages when they leave.
CREATE UNIQUE INDEX messages_one_per_subscriber_change ON messages (subscriber_id, status_change_id)
    WHERE subscriber_id IS NOT NULL;
