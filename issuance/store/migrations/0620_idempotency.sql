-- Idempotency keys of API POSTs (draft-ietf-httpapi-idempotency-key-header): the first successful
-- response to (actor, key) is kept for a day and replayed to a retry with the same request; the
-- same key with another request is refused. status 0 marks a request still running.
CREATE TABLE idempotency_keys (
    actor         text NOT NULL,
    key           text NOT NULL,
    request_hash  bytea NOT NULL,
    status        integer NOT NULL DEFAULT 0,
    content_type  text NOT NULL DEFAULT '',
    response      bytea NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (actor, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
