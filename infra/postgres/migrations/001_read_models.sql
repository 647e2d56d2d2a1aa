-- Read models: rebuilt from the event store at will, so they may be dropped and replayed.
CREATE TABLE trip_views (
    trip_id    uuid PRIMARY KEY,
    version    integer NOT NULL,
    view       jsonb NOT NULL,
    updated_at timestamptz NOT NULL
);

-- One row per (member, trip): the member's trip list.
CREATE TABLE user_trips (
    user_id    uuid NOT NULL,
    trip_id    uuid NOT NULL,
    role       text NOT NULL,
    title      text NOT NULL,
    start_date date NOT NULL,
    end_date   date NOT NULL,
    version    integer NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, trip_id)
);
CREATE INDEX user_trips_by_start ON user_trips (user_id, start_date, trip_id);

-- Where each log reader (relay, embedded projector) has got to in the notification log.
CREATE TABLE stream_positions (
    name     text PRIMARY KEY,
    position bigint NOT NULL
);
