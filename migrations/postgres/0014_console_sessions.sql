-- The staff console's server-side sessions. The browser holds a random session id in an HttpOnly
-- cookie; only its SHA-256 is kept here, so a copy of the database opens no session. The CSRF token
-- of a session is derived from its id (SHA-256 of a fixed label and the id), so it needs no column.
-- A session ends at logout (its row is deleted), after `[staff] session_idle_minutes` without a
-- request, or `session_hours` after login, whichever comes first.
CREATE TABLE console_sessions (
    id_hash      TEXT PRIMARY KEY,          -- SHA-256 of the cookie's session id, hex
    username     TEXT NOT NULL REFERENCES staff (username),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_username ON console_sessions (username);

-- The language the console speaks to each staff member: Bahasa Indonesia unless they chose English.
ALTER TABLE staff ADD COLUMN language TEXT NOT NULL DEFAULT 'id' CHECK (language IN ('id', 'en'));
