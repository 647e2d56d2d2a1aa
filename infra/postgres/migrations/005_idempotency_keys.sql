-- Responses of POSTs sent with an Idempotency-Key, replayed for a retry of the same request.
CREATE TABLE idempotency_keys (
    user_id     uuid NOT NULL,
    key         text NOT NULL,
    fingerprint text NOT NULL,
    status_code integer,           -- null while the first request is in flight
    body        bytea,
    etag        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
