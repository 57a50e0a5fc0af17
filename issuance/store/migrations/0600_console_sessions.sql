-- Web console logins (issuance/console). A user's password is an argon2id hash (RFC 9106) with
-- its own salt and parameters in PHC string form; failed attempts lock the login for a while.
CREATE TABLE console_passwords (
    user_name     text PRIMARY KEY REFERENCES users (name),
    hash          text NOT NULL,
    failures      integer NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Server-side sessions. Only the SHA-256 of the session id (the cookie value) is stored, so a
-- copy of this table logs nobody in. A session ends at expires_at (absolute) or when it was not
-- used for the idle time, which the console checks against last_seen.
CREATE TABLE console_sessions (
    id_hash     bytea PRIMARY KEY,
    user_name   text NOT NULL REFERENCES users (name),
    csrf        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_name);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
