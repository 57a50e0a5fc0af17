-- Users of the system: each token is bound to one user, one role and one office.
CREATE TABLE users (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9._-]{2,64}$'),
    role        text NOT NULL CHECK (role IN ('clerk', 'supervisor', 'operator', 'verifier', 'admin')),
    office      text NOT NULL,
    token_hash  bytea NOT NULL UNIQUE,
    disabled    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The population register: what intake pre-fills from.
CREATE TABLE residents (
    id_number            text PRIMARY KEY,
    full_name            text NOT NULL,
    date_of_birth        date NOT NULL,
    sex                  text NOT NULL,
    nationality          text NOT NULL,
    ethnicity            text NOT NULL,
    religion             text NOT NULL,
    place_of_origin      text NOT NULL,
    place_of_residence   text NOT NULL,
    identifying_features text NOT NULL DEFAULT '',
    father               text NOT NULL DEFAULT '',
    mother               text NOT NULL DEFAULT '',
    spouse               text NOT NULL DEFAULT '',
    previous_id_number   text NOT NULL DEFAULT ''
);

-- Applications for a card. person holds the card data (issuance.Person as JSON).
CREATE TABLE applications (
    id              bigserial PRIMARY KEY,
    receipt         text NOT NULL UNIQUE,
    id_number       text NOT NULL,
    state           text NOT NULL,
    paused          boolean NOT NULL DEFAULT false,
    person          jsonb NOT NULL,
    portrait        bytea NOT NULL,
    reason          text NOT NULL,
    intake_office   text NOT NULL,
    delivery        jsonb NOT NULL,
    changed_fields  text[] NOT NULL DEFAULT '{}',
    clerk           text NOT NULL REFERENCES users (name),
    supervisor      text REFERENCES users (name),
    decision_note   text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- One open application per citizen.
CREATE UNIQUE INDEX applications_one_open ON applications (id_number)
    WHERE state NOT IN ('rejected', 'delivered', 'returned');
CREATE INDEX applications_state ON applications (state, id);

-- Timeline of every application: one row per state change.
CREATE TABLE application_events (
    id              bigserial PRIMARY KEY,
    application_id  bigint NOT NULL REFERENCES applications (id),
    from_state      text NOT NULL,
    to_state        text NOT NULL,
    actor           text NOT NULL,
    office          text NOT NULL,
    note            text NOT NULL DEFAULT '',
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX application_events_app ON application_events (application_id, id);

-- Append-only, hash-chained audit log. Entries are spread over 16 independent chains
-- (one chain per writing transaction) so that concurrent writers do not queue on one head row; each chain is
-- verified on its own. hash = SHA-256(prev_hash || canonical row).
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    chain      smallint NOT NULL,
    seq        bigint NOT NULL,
    at         timestamptz NOT NULL,
    actor      text NOT NULL,
    office     text NOT NULL,
    action     text NOT NULL,
    subject    text NOT NULL,
    detail     text NOT NULL,
    prev_hash  bytea NOT NULL,
    hash       bytea NOT NULL,
    UNIQUE (chain, seq)
);
-- The head of each chain; locking it serialises appends to that chain so it never forks.
CREATE TABLE audit_head (
    chain  smallint PRIMARY KEY,
    seq    bigint NOT NULL,
    hash   bytea NOT NULL
);
INSERT INTO audit_head (chain, seq, hash)
    SELECT g, 0, '\x0000000000000000000000000000000000000000000000000000000000000000' FROM generate_series(0, 15) g;
-- audit_append adds one entry to a chain: the canonical form is each field as
-- "<octet length>:<text>" (chain, seq, at in Unix microseconds, actor, office, action,
-- subject, detail), and hash = SHA-256(prev_hash || canonical form). ledger.VerifyAudit
-- recomputes the same in Go. (Exact epoch arithmetic needs PostgreSQL 14 or newer.)
CREATE FUNCTION audit_append(p_chain smallint, p_actor text, p_office text, p_action text, p_subject text, p_detail text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    head audit_head%ROWTYPE;
    t timestamptz := now();
    n bigint;
    canon text;
    h bytea;
BEGIN
    SELECT * INTO head FROM audit_head WHERE chain = p_chain FOR UPDATE;
    n := head.seq + 1;
    SELECT string_agg(octet_length(f)::text || ':' || f, '' ORDER BY i) INTO canon
      FROM unnest(ARRAY[p_chain::text, n::text, (extract(epoch FROM t) * 1000000)::bigint::text,
                        p_actor, p_office, p_action, p_subject, p_detail]) WITH ORDINALITY AS u(f, i);
    h := sha256(head.hash || convert_to(canon, 'UTF8'));
    INSERT INTO audit_log (chain, seq, at, actor, office, action, subject, detail, prev_hash, hash)
        VALUES (p_chain, n, t, p_actor, p_office, p_action, p_subject, p_detail, head.hash, h);
    UPDATE audit_head SET seq = n, hash = h WHERE chain = p_chain;
    RETURN n;
END $$;
CREATE RULE audit_log_no_update AS ON UPDATE TO audit_log DO INSTEAD NOTHING;
CREATE RULE audit_log_no_delete AS ON DELETE TO audit_log DO INSTEAD NOTHING;

-- Transactional outbox: written in the same transaction as the state change, published
-- to NATS JetStream by the relay with the event ID as the message ID.
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    event_id    uuid NOT NULL UNIQUE,
    subject     text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
