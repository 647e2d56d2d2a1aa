-- Positions in the event store's log become (transaction id, notification id) pairs: writers
-- no longer lock the events table, and readers go in transaction order (see docs/design.md,
-- "Reading the log in order"). The events table's `transaction_id` column and its index are
-- added by the event store's own create statements (infra/postgres/ordered_recorder.py),
-- which run just before migrations, on new and existing tables alike.
--
-- A saved position N (a notification id) becomes (0, N): every event recorded before this
-- migration has transaction id 0, so it is exactly where the reader was, nothing is read
-- again and nothing is skipped.
ALTER TABLE stream_positions ADD COLUMN transaction_id bigint NOT NULL DEFAULT 0;

-- The embedded projector's lane `log` resumes from (applied_transaction, applied_offset);
-- topic-partition lanes keep 0 there.
ALTER TABLE projection_lanes ADD COLUMN applied_transaction bigint NOT NULL DEFAULT 0;
