"""A database from before log positions were pairs (migration 011, events written under the
table lock, a relay position N) keeps working after 012: its events are read first, in their
old order, the relay resumes at (0, N), and nothing is published twice or skipped."""

from __future__ import annotations

from datetime import date
from importlib import resources
from uuid import uuid4

import psycopg

from infra.database import build_event_store, event_store_env, prepare_database
from infra.postgres.positions import PostgresPositionStore
from infra.settings import Settings
from streams.outbox import OutboxMessage, OutboxReader
from streams.position import LogPosition
from streams.relay import RELAY_POSITION, Relay
from tests.waiting import eventually
from write_side.context import CommandContext
from write_side.event_store import EventStore
from write_side.trips.commands import PlanTrip
from write_side.trips.planner import TripPlanner


class Published:
    def __init__(self) -> None:
        self.messages: list[OutboxMessage] = []

    def publish(self, messages: list[OutboxMessage]) -> None:
        self.messages.extend(messages)


def at_migration_011(database_url: str) -> None:
    """The schema as it was: eventsourcing's own events table (no transaction ids), and the
    migrations up to 011 recorded as applied."""
    env = event_store_env(database_url, 2, create_tables=True)
    del env["APPLICATION_RECORDER_TOPIC"]  # eventsourcing's recorder, which locks the table
    env["POSTGRES_ENABLE_DB_FUNCTIONS"] = "no"
    EventStore(env=env).close()
    files = sorted(
        (f for f in resources.files("infra.postgres.migrations").iterdir()),
        key=lambda f: f.name,
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations"
            " (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for file in files:
            if file.name.endswith(".sql") and file.name < "012":
                conn.execute(file.read_text())
                conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (file.name,))


def plan(planner: TripPlanner, trips: int) -> list[object]:
    context = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    command = PlanTrip("Old", "", date(2027, 1, 1), date(2027, 1, 2))
    return [planner.plan_trip(command, context).trip_id for _ in range(trips)]


def test_a_relay_position_from_before_012_resumes_where_it_was(database_url: str) -> None:
    at_migration_011(database_url)
    env = event_store_env(database_url, 2)
    del env["APPLICATION_RECORDER_TOPIC"]
    env["POSTGRES_ENABLE_DB_FUNCTIONS"] = "no"
    old = TripPlanner(EventStore(env=env))
    before = plan(old, 6)
    old.events.close()
    with psycopg.connect(database_url, autocommit=True) as conn:
        ids = [r[0] for r in conn.execute("SELECT notification_id FROM itinera_events ORDER BY 1")]
        row = conn.execute(  # the relay had published the first three trips' events
            "SELECT max(notification_id) FROM itinera_events WHERE originator_id = %s",
            (before[2],),
        ).fetchone()
        assert row is not None
        relayed = int(row[0])
        conn.execute(
            "INSERT INTO stream_positions (name, position) VALUES (%s, %s)",
            (RELAY_POSITION, relayed),
        )
        conn.execute(
            "INSERT INTO projection_lanes (projection, lane, applied_offset, progressed_at)"
            " VALUES ('trip_views', 'log', %s, now())",
            (relayed,),
        )

    settings = Settings(database_url=database_url)
    prepare_database(settings)
    planner = TripPlanner(build_event_store(settings))
    positions = PostgresPositionStore(database_url)
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            assert conn.execute(
                "SELECT count(*) FROM itinera_events WHERE transaction_id = '0'"
            ).fetchone() == (len(ids),)
            assert conn.execute(
                "SELECT applied_transaction, applied_offset FROM projection_lanes"
            ).fetchone() == (0, relayed)
        assert positions.load(RELAY_POSITION) == LogPosition(0, relayed)

        after = plan(planner, 4)
        positions.wait_until_sole_relay()
        published = Published()
        relay = Relay(OutboxReader(planner.events), published, positions)

        def all_relayed() -> None:
            relay.relay_once()
            assert len(published.messages) >= len(before) - 3 + len(after)

        eventually(all_relayed)
        assert relay.relay_once() == 0
        trips = [m.event.aggregate_id for m in published.messages]
        assert trips == [*before[3:], *after]  # each once, in order, none of the first three
        assert [m.position.transaction for m in published.messages[:3]] == [0, 0, 0]
        assert all(m.position.transaction > 0 for m in published.messages[3:])
        assert positions.load(RELAY_POSITION) == published.messages[-1].position
    finally:
        positions.close()
        planner.events.close()
