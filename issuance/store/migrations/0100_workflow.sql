-- Production batches: approved applications grouped by receiving office and production line.
CREATE TABLE batches (
    id           bigserial PRIMARY KEY,
    line         text NOT NULL,
    office       text NOT NULL,
    state        text NOT NULL DEFAULT 'created' CHECK (state IN ('created', 'running', 'paused', 'done')),
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz
);
ALTER TABLE applications ADD COLUMN batch_id bigint REFERENCES batches (id);
CREATE INDEX applications_batch ON applications (batch_id, state);

-- Personalization jobs: one per card to make; a spoiled card gives its application a new job.
CREATE TABLE jobs (
    id              uuid PRIMARY KEY,
    application_id  bigint NOT NULL REFERENCES applications (id),
    batch_id        bigint NOT NULL REFERENCES batches (id),
    line            text NOT NULL,
    attempt         int NOT NULL,
    state           text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'taken', 'done', 'spoiled', 'cancelled')),
    station         text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX jobs_one_open ON jobs (application_id) WHERE state IN ('queued', 'taken');

-- Physical cards, identified by the chip serial. A chip is bound to at most one
-- application (primary key) and an application has at most one good card.
CREATE TABLE cards (
    serial          text PRIMARY KEY,
    application_id  bigint NOT NULL REFERENCES applications (id),
    batch_id        bigint NOT NULL REFERENCES batches (id),
    job_id          uuid REFERENCES jobs (id),
    state           text NOT NULL,
    reason          text NOT NULL DEFAULT '',
    mrz             text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX cards_one_good ON cards (application_id)
    WHERE state NOT IN ('spoiled', 'qc_failed', 'revoked', 'returned');
CREATE INDEX cards_batch ON cards (batch_id, state);

CREATE TABLE card_events (
    id          bigserial PRIMARY KEY,
    serial      text NOT NULL REFERENCES cards (serial),
    from_state  text NOT NULL,
    to_state    text NOT NULL,
    actor       text NOT NULL,
    note        text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX card_events_serial ON card_events (serial, id);
CREATE INDEX card_events_at ON card_events (at);

-- Shipments from the production centre to receiving offices.
CREATE TABLE shipments (
    id           bigserial PRIMARY KEY,
    office       text NOT NULL,
    state        text NOT NULL DEFAULT 'dispatched' CHECK (state IN ('dispatched', 'received')),
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    received_by  text,
    received_at  timestamptz
);
CREATE TABLE shipment_items (
    shipment_id     bigint NOT NULL REFERENCES shipments (id),
    serial          text PRIMARY KEY REFERENCES cards (serial),
    application_id  bigint NOT NULL REFERENCES applications (id)
);

-- Hand-over to the applicant (or return of the card).
CREATE TABLE handovers (
    application_id  bigint PRIMARY KEY REFERENCES applications (id),
    serial          text NOT NULL REFERENCES cards (serial),
    outcome         text NOT NULL CHECK (outcome IN ('delivered', 'returned')),
    received_by     text NOT NULL DEFAULT '',
    staff           text NOT NULL,
    note            text NOT NULL DEFAULT '',
    at              timestamptz NOT NULL DEFAULT now()
);

-- Messages a consumer gave up on after its bounded redeliveries.
CREATE TABLE dead_letters (
    id           bigserial PRIMARY KEY,
    consumer     text NOT NULL,
    subject      text NOT NULL,
    msg_id       text NOT NULL,
    payload      jsonb NOT NULL,
    deliveries   int NOT NULL,
    error        text NOT NULL,
    state        text NOT NULL DEFAULT 'dead' CHECK (state IN ('dead', 'retried', 'rejected')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    resolved_by  text,
    resolved_at  timestamptz
);


-- Lookups by application and by shipment (plain indexes keep plans sane before statistics exist).
CREATE INDEX cards_application ON cards (application_id, state);
CREATE INDEX jobs_application ON jobs (application_id);
CREATE INDEX shipment_items_shipment ON shipment_items (shipment_id);
