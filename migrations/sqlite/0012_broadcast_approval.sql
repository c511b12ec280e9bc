-- Broadcasts get a lifecycle for four-eyes approval (issue 13): staff draft one and submit it; one
-- reaching more than `[staff] approval_threshold` applicants or more than one office waits,
-- submitted, for a supervisor who is not its author, who approves (it is scheduled) or rejects it
-- with a reason. Only scheduled broadcasts are planned. `kabar broadcast send` schedules at once.
-- SQLite cannot change a CHECK: the table is rebuilt with the same ids (nothing refers to it by a
-- foreign key).
CREATE TABLE broadcasts_v12 (
    id               INTEGER PRIMARY KEY,
    title            TEXT NOT NULL,
    filter           TEXT NOT NULL,   -- the audience filter as JSON, for `broadcast show`
    kind             TEXT NOT NULL,   -- a notice kind; 'broadcast' for staff-written text
    text_id          TEXT,            -- staff-written text (kind 'broadcast')
    text_en          TEXT,
    sender           TEXT,
    pickup_hours     TEXT,            -- JSON of the pickup hours (kind 'ready_for_pickup')
    channels         TEXT NOT NULL,   -- preference order, comma-separated
    status           TEXT NOT NULL CHECK (status = 'draft' OR status = 'submitted' OR status = 'scheduled'
                         OR status = 'planned' OR status = 'rejected' OR status = 'cancelled'),
    send_at          BIGINT NOT NULL,
    created_by       TEXT NOT NULL,   -- the author: an actor (staff:…, token:…) or the CLI's --actor
    created_at       BIGINT NOT NULL,
    planned_at       BIGINT,
    cancelled_at     BIGINT,
    reach            BIGINT,          -- applicants counted when it was submitted
    submitted_by     TEXT,
    submitted_at     BIGINT,
    approved_by      TEXT,            -- NULL when it needed no approval (or came from the CLI)
    approved_at      BIGINT,
    rejected_by      TEXT,
    rejected_at      BIGINT,
    rejection_reason TEXT,
    cancelled_by     TEXT
);
INSERT INTO broadcasts_v12 (id, title, filter, kind, text_id, text_en, sender, pickup_hours, channels,
                            status, send_at, created_by, created_at, planned_at, cancelled_at)
SELECT id, title, filter, kind, text_id, text_en, sender, pickup_hours, channels,
       status, send_at, created_by, created_at, planned_at, cancelled_at
FROM broadcasts;
DROP TABLE broadcasts;
ALTER TABLE broadcasts_v12 RENAME TO broadcasts;
CREATE INDEX broadcasts_due ON broadcasts (status, send_at);
