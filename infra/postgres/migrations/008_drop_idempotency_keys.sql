-- Idempotency keys now live with their command's events (write_side/trips/command_record.py):
-- a key and its outcome are one atomic write, so a crash can no longer leave one without the
-- other. Keys still in flight in this table expire with it.
DROP TABLE IF EXISTS idempotency_keys;
