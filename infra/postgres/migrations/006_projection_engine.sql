-- The projection engine. Each projection now owns its tables (created and rebuilt by the
-- engine, from the event store); the read models created by earlier migrations are dropped
-- and rebuilt on the next start.
DROP TABLE IF EXISTS trip_views, user_trips, user_directory;

-- The version of each projection its live tables hold (NULL: never built).
CREATE TABLE projection_state (
    name          text PRIMARY KEY,
    version       integer,
    built_at      timestamptz,
    build_events  bigint,
    build_seconds double precision
);

-- How far each projection's driver got on each lane (a topic partition, or the event
-- store's log in embedded mode), for lag; in embedded mode also where it resumes.
CREATE TABLE projection_lanes (
    projection       text NOT NULL,
    lane             text NOT NULL,
    applied_offset   bigint NOT NULL,
    applied_event_at timestamptz,
    progressed_at    timestamptz NOT NULL,
    head_offset      bigint,
    behind_since     timestamptz,
    reported_at      timestamptz,
    PRIMARY KEY (projection, lane)
);

-- Dead letters of every projection are numbered from one sequence, so an id names one.
CREATE SEQUENCE projection_dead_letter_ids;

-- Events an operator chose to skip (`itinera dlq skip`): rebuilds skip them too.
CREATE TABLE projection_skips (
    projection        text NOT NULL,
    aggregate_id      uuid NOT NULL,
    aggregate_version integer NOT NULL,
    skipped_by        text NOT NULL,
    skipped_at        timestamptz NOT NULL DEFAULT now(),
    reason            text NOT NULL DEFAULT '',
    PRIMARY KEY (projection, aggregate_id, aggregate_version)
);

-- What operators did to projections (retry, skip, rebuild), by whom.
CREATE TABLE projection_operations (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    projection   text NOT NULL,
    action       text NOT NULL,
    aggregate_id uuid,
    detail       text NOT NULL,
    actor        text NOT NULL
);
