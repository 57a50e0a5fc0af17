-- Reads of personal data (Decree 13/2023 on personal data protection: every processing
-- of personal data is accounted for). A read is an entry of the hash-chained audit log
-- itself, appended with audit_append like every other entry: action 'access.<kind>'
-- (register, application, list, card) or 'access.refused', subject 'person/<ID number>',
-- actor and office the reader's, detail a JSON object with the reader's role, the
-- purpose, a reference (receipt, card serial) and the outcome. `cccd audit verify`
-- therefore detects an edited or deleted access record like any other entry. These
-- partial indexes serve `cccd audit access --subject/--user`; they cost nothing on
-- writes of other entries.
CREATE INDEX audit_log_access_subject ON audit_log (subject, at) WHERE action LIKE 'access.%';
CREATE INDEX audit_log_access_actor ON audit_log (actor, at) WHERE action LIKE 'access.%';

-- Register look-ups per user in the current minute and day (fixed windows starting at
-- `minute` and `day`); a look-up beyond a limit is refused and recorded as access.refused.
-- One row per user: a look-up moves both counts with one write.
CREATE TABLE access_counts (
    name        text PRIMARY KEY,
    minute      timestamptz NOT NULL,
    per_minute  integer NOT NULL,
    day         timestamptz NOT NULL,
    per_day     integer NOT NULL
);

-- Failed authentications per source (network address, or 'local'), in a window starting
-- at `since`: past the limit, the source is refused until the window ends.
CREATE TABLE auth_failures (
    source  text PRIMARY KEY,
    since   timestamptz NOT NULL,
    n       integer NOT NULL
);

-- Tokens expire, are rotated and revoked. A revoked user is disabled with the time and
-- reason; tokens made before this migration expire 90 days from it.
ALTER TABLE users ADD COLUMN expires_at timestamptz,
                  ADD COLUMN rotated_at timestamptz,
                  ADD COLUMN revoked_at timestamptz,
                  ADD COLUMN revoke_reason text NOT NULL DEFAULT '';
UPDATE users SET expires_at = now() + interval '90 days';
