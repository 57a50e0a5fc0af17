-- Print jobs (package printqueue): one row per attempt to print the face of one card.
-- Each printer works its own queue in id order; a job that failed is retried after a
-- back-off until attempts reaches max_attempts, then stays failed for an operator.
CREATE TABLE print_jobs (
    id              bigserial PRIMARY KEY,
    application_id  bigint NOT NULL REFERENCES applications (id),
    serial          text NOT NULL REFERENCES cards (serial),
    printer         text NOT NULL,
    state           text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'rendering', 'sent', 'printed', 'failed', 'cancelled')),
    attempts        int NOT NULL DEFAULT 0,
    max_attempts    int NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
    error           text NOT NULL DEFAULT '',
    pdf             text NOT NULL DEFAULT '',
    reason          text NOT NULL DEFAULT '',
    design          text NOT NULL DEFAULT 'can-cuoc-2024',
    not_before      timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    printed_at      timestamptz
);
-- One open job per card: a duplicate "personalized" event cannot print a card twice.
CREATE UNIQUE INDEX print_jobs_one_open ON print_jobs (serial) WHERE state NOT IN ('cancelled');
-- The queue of one printer, in order.
CREATE INDEX print_jobs_queue ON print_jobs (printer, id) WHERE state IN ('queued', 'rendering', 'sent', 'failed');
CREATE INDEX print_jobs_application ON print_jobs (application_id, id);
