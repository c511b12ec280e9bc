-- Staff accounts, API tokens and idempotency keys (SQLite) of the staff API. A role includes the
-- ones before it (viewer < officer < supervisor < admin); a scope is what `kabar state set` takes
-- as its target (office codes, region:NAME entries, or all), stored as written and parsed on read.
CREATE TABLE staff (
    username      TEXT PRIMARY KEY,      -- lower case: letters, digits, . _ -
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'officer', 'supervisor', 'admin')),
    scope         TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE CHECK (disabled IN (0, 1)),
    password_hash TEXT NOT NULL,         -- Argon2id, PHC string; never the password
    created_at    BIGINT NOT NULL,
    last_login_at BIGINT
);

-- Tokens for machines (M-Paspor's booking sync, dashboards). Only the SHA-256 of a token is kept;
-- its prefix (the first characters after kbr_) finds the row and names it in lists and logs.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL UNIQUE,
    token_hash   TEXT NOT NULL,          -- SHA-256 of the whole token, hex
    role         TEXT NOT NULL CHECK (role IN ('viewer', 'officer', 'supervisor', 'admin')),
    scope        TEXT NOT NULL,
    created_by   TEXT NOT NULL,          -- the actor: cli:<OS user>, staff:<username>
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

-- The first answer to a POST carrying an Idempotency-Key, per caller, kept 24 hours: a repeat
-- with the same request gets it again without acting twice; a repeat with another is refused.
CREATE TABLE idempotency_keys (
    actor        TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,          -- SHA-256 of method, path and body
    status       BIGINT,                 -- NULL while the first request is being answered
    content_type TEXT,
    body         TEXT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (actor, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
