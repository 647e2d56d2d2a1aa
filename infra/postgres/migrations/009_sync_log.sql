-- The sync log (the seed's SyncLog): each change a sync client pushed, with its first
-- outcome (applied, conflict, error). A change the client named (`mutation_id`) has one row
-- per user, client and mutation id: a retry is answered from it. `id` orders changes as they
-- were first received: the order write checkpoints count in.
CREATE TABLE sync_log (
    id               bigserial PRIMARY KEY,
    user_id          uuid NOT NULL,
    client_id        text NOT NULL,
    mutation_id      text,
    fingerprint      text NOT NULL,
    entity_type      text NOT NULL,
    entity_id        uuid NOT NULL,
    action           text NOT NULL,
    status           text NOT NULL,
    trip_id          uuid,
    version          integer,
    code             text,
    message          text,
    conflict_id      uuid UNIQUE,
    fields           text[] NOT NULL DEFAULT '{}',
    client_data      jsonb,
    server_data      jsonb,
    extra            jsonb NOT NULL DEFAULT '{}',
    server_timestamp timestamptz NOT NULL,
    resolved         boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX sync_log_by_mutation ON sync_log (user_id, client_id, mutation_id)
    WHERE mutation_id IS NOT NULL;
CREATE INDEX sync_log_by_client ON sync_log (user_id, client_id, id);
CREATE INDEX sync_log_open ON sync_log (user_id, id) WHERE status <> 'applied' AND NOT resolved;

-- How a conflict was settled (the seed's ConflictResolution): one row per conflict.
CREATE TABLE sync_conflict_resolutions (
    conflict_id         uuid PRIMARY KEY REFERENCES sync_log (conflict_id),
    resolution_strategy text NOT NULL,
    resolved_by         uuid NOT NULL,
    resolved_at         timestamptz NOT NULL,
    version             integer
);

-- Each client's last push and pull.
CREATE TABLE sync_clients (
    user_id      uuid NOT NULL,
    client_id    text NOT NULL,
    last_push_at timestamptz,
    last_pull_at timestamptz,
    PRIMARY KEY (user_id, client_id)
);
