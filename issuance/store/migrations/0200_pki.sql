-- Document PKI (ICAO 9303-12): CSCA generations, Document Signers with their usage counters,
-- Master List Signers, revocations, CRLs, dual-control requests and key life-cycle events.
-- Private keys are never stored here: key_label names the key in the HSM / key store.

CREATE TABLE pki_csca (
    id              bigserial PRIMARY KEY,
    sequence        integer NOT NULL UNIQUE,
    key_label       text NOT NULL UNIQUE,
    algorithm       text NOT NULL,
    cert            bytea NOT NULL,
    link_cert       bytea,                      -- signed by the previous CSCA's key (rollover)
    serial          numeric NOT NULL,
    usage_start     timestamptz NOT NULL,       -- PrivateKeyUsagePeriod
    usage_end       timestamptz NOT NULL,
    not_after       timestamptz NOT NULL,
    state           text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'superseded')),
    requested_by    text NOT NULL REFERENCES users (name),
    confirmed_by    text NOT NULL REFERENCES users (name) CHECK (confirmed_by <> requested_by),
    created_at      timestamptz NOT NULL DEFAULT now()
);
-- At most one CSCA signs new certificates at a time.
CREATE UNIQUE INDEX pki_csca_one_active ON pki_csca ((true)) WHERE state = 'active';

CREATE TABLE pki_document_signer (
    id              bigserial PRIMARY KEY,
    csca_id         bigint NOT NULL REFERENCES pki_csca (id),
    key_label       text NOT NULL UNIQUE,
    algorithm       text NOT NULL,
    cert            bytea NOT NULL,
    serial          numeric NOT NULL,
    usage_start     timestamptz NOT NULL,
    usage_end       timestamptz NOT NULL,
    doc_limit       bigint NOT NULL CHECK (doc_limit > 0),
    used            bigint NOT NULL DEFAULT 0,
    state           text NOT NULL DEFAULT 'active'
                    CHECK (state IN ('active', 'exhausted', 'revoked', 'destroyed')),
    auto_issued     boolean NOT NULL,
    requested_by    text REFERENCES users (name),
    confirmed_by    text REFERENCES users (name),
    created_at      timestamptz NOT NULL DEFAULT now(),
    retired_at      timestamptz,
    -- The hard guarantee: no DS ever signs more documents than its limit.
    CONSTRAINT pki_ds_used_within_limit CHECK (used >= 0 AND used <= doc_limit),
    CONSTRAINT pki_ds_dual_control CHECK (auto_issued OR (requested_by IS NOT NULL AND confirmed_by IS NOT NULL
                                                         AND requested_by <> confirmed_by))
);
CREATE UNIQUE INDEX pki_ds_serial ON pki_document_signer (csca_id, serial);
CREATE INDEX pki_ds_active ON pki_document_signer (usage_start, id) WHERE state = 'active';

CREATE TABLE pki_master_list_signer (
    id              bigserial PRIMARY KEY,
    csca_id         bigint NOT NULL REFERENCES pki_csca (id),
    key_label       text NOT NULL UNIQUE,
    cert            bytea NOT NULL,
    not_after       timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Foreign CSCAs the country vouches for in its own master list.
CREATE TABLE pki_foreign_csca (
    fingerprint     bytea PRIMARY KEY,          -- SHA-256 of the certificate
    country         text NOT NULL,
    cert            bytea NOT NULL,
    added_by        text NOT NULL,
    added_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pki_revocation (
    csca_id         bigint NOT NULL REFERENCES pki_csca (id),
    serial          numeric NOT NULL,
    reason          integer NOT NULL,
    revoked_at      timestamptz NOT NULL DEFAULT now(),
    revoked_by      text NOT NULL,
    published_in    bigint,                     -- CRL number that first lists it
    PRIMARY KEY (csca_id, serial)
);

CREATE TABLE pki_crl (
    csca_id         bigint NOT NULL REFERENCES pki_csca (id),
    number          bigint NOT NULL,
    this_update     timestamptz NOT NULL,
    next_update     timestamptz NOT NULL,
    der             bytea NOT NULL,
    PRIMARY KEY (csca_id, number)
);

-- Dual control: an admin requests, a different admin confirms; the action runs on confirm.
CREATE TABLE pki_request (
    id              bigserial PRIMARY KEY,
    action          text NOT NULL CHECK (action IN ('csca.create', 'csca.rollover', 'ds.issue')),
    params          jsonb NOT NULL DEFAULT '{}',
    requested_by    text NOT NULL REFERENCES users (name),
    requested_at    timestamptz NOT NULL DEFAULT now(),
    confirmed_by    text REFERENCES users (name),
    confirmed_at    timestamptz,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed', 'cancelled')),
    result          text NOT NULL DEFAULT '',
    CHECK (confirmed_by IS NULL OR confirmed_by <> requested_by)
);

-- Key life cycle (generated, destroyed) for every PKI key; also mirrored in audit_log.
CREATE TABLE pki_key_event (
    id              bigserial PRIMARY KEY,
    key_label       text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('csca', 'ds', 'mls')),
    event           text NOT NULL CHECK (event IN ('generated', 'destroyed')),
    actor           text NOT NULL,
    detail          text NOT NULL DEFAULT '',
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE RULE pki_key_event_no_update AS ON UPDATE TO pki_key_event DO INSTEAD NOTHING;
CREATE RULE pki_key_event_no_delete AS ON DELETE TO pki_key_event DO INSTEAD NOTHING;
