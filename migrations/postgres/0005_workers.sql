-- Workers (PostgreSQL): each delivery worker registers itself and beats a heartbeat. Its claims name
-- it, so it renews their leases while it works, a worker restarted on the same host takes over a
-- dead predecessor's claims at once, and the workers of one database divide each provider
-- account's rate between them.
CREATE TABLE workers (
    id              TEXT PRIMARY KEY,   -- host:pid:random
    host            TEXT NOT NULL,
    pid             BIGINT NOT NULL,
    process_start   BIGINT NOT NULL,    -- when the process started (clock ticks since boot; 0 unknown)
    accounts        TEXT NOT NULL,      -- rate-limited provider accounts it sends through, space-separated
    started_at_ms   BIGINT NOT NULL,    -- epoch milliseconds: shares change within a second
    heartbeat_at_ms BIGINT NOT NULL,
    stopped_at_ms   BIGINT
);
CREATE INDEX workers_live ON workers (stopped_at_ms, heartbeat_at_ms);

ALTER TABLE messages ADD COLUMN claimed_by TEXT;
-- The claims a worker holds: only messages being sent, so the index stays small.
CREATE INDEX messages_claimed_by ON messages (claimed_by) WHERE status = 'sending';
