-- Automatic outage detection (SQLite): the health of each upstream system kabar probes, the
-- proposals a detected outage or recovery makes, and the lease that lets one process probe at a
-- time. Probe results are kept as a summary per system (counts, the last window, the last result),
-- not one row per probe.
CREATE TABLE detect_systems (
    name              TEXT PRIMARY KEY,
    health            TEXT NOT NULL DEFAULT 'unknown' CHECK (health IN ('unknown', 'up', 'down')),
    failures_in_row   BIGINT NOT NULL DEFAULT 0,
    successes_in_row  BIGINT NOT NULL DEFAULT 0,
    recent            TEXT NOT NULL DEFAULT '',  -- the last probes, oldest first: 1 = ok, 0 = failed
    probes            BIGINT NOT NULL DEFAULT 0,
    failures          BIGINT NOT NULL DEFAULT 0,
    last_at           BIGINT,
    last_ok           BOOLEAN,
    last_detail       TEXT,                      -- what the last probe saw: HTTP 503, timeout, refused
    last_failure      TEXT,                      -- the last failure's detail, kept while it recovers
    next_at           BIGINT,
    changed_at        BIGINT,                    -- when the health last changed
    episode           BIGINT NOT NULL DEFAULT 0  -- counts outages: a proposal belongs to one
);

CREATE TABLE detect_proposals (
    id          INTEGER PRIMARY KEY,
    system      TEXT NOT NULL,
    episode     BIGINT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('outage', 'recovery')),
    offices     TEXT NOT NULL,                   -- the target, as `kabar state set` takes it
    services    TEXT NOT NULL,                   -- comma-separated
    reason      TEXT NOT NULL,                   -- what applicants read
    detail      TEXT NOT NULL,                   -- what the probes saw, for staff
    status      TEXT NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'applied', 'dismissed', 'dropped')),
    created_at  BIGINT NOT NULL,
    apply_at    BIGINT,                          -- applied by kabar itself from then; NULL: never
    decided_at  BIGINT,
    decided_by  TEXT,
    note        TEXT,
    UNIQUE (system, episode, kind)
);
CREATE INDEX detect_proposals_open ON detect_proposals (status, apply_at);

CREATE TABLE detect_lease (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
INSERT INTO detect_lease (id, holder, expires_at) VALUES (1, '', 0);
