"""A transaction that stays open while later ones commit: the log reader reads what is safe
(below the oldest transaction in progress), waits at the open one's position, and delivers
its event once it commits, exactly once, skipping nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from uuid import UUID, uuid4

import psycopg
from psycopg import sql

from infra.database import build_event_store, prepare_database
from infra.postgres.ordered_recorder import OrderedPostgresApplicationRecorder
from infra.settings import Settings
from streams.outbox import OutboxReader
from streams.position import START, LogPosition
from tests.waiting import eventually
from write_side.context import CommandContext, acting_as
from write_side.event_store import EventStore
from write_side.trips.commands import PlanTrip
from write_side.trips.planner import TripPlanner
from write_side.trips.trip import Trip


@contextmanager
def open_transaction(database_url: str) -> Iterator[psycopg.Connection]:
    """A connection in a transaction that stays open until the caller commits it."""
    with psycopg.connect(database_url) as conn:
        try:
            yield conn
        finally:
            conn.rollback()


def take_xid(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()
    assert row is not None
    return int(row[0])


def insert_planned_trip(conn: psycopg.Connection, events: EventStore) -> UUID:
    """A new trip's first event, inserted with the recorder's own insert function in the
    connection's transaction (left open)."""
    recorder = events.recorder
    assert isinstance(recorder, OrderedPostgresApplicationRecorder)
    with acting_as(CommandContext(actor_id=uuid4(), correlation_id=uuid4())):
        trip = Trip.plan(
            title="Held",
            description="",
            start_date=date(2027, 3, 1),
            end_date=date(2027, 3, 2),
            creator_id=uuid4(),
        )
    (stored,) = [events.mapper.to_stored_event(e) for e in trip.collect_events()]
    schema = sql.Identifier(recorder.datastore.schema)
    conn.execute(
        sql.SQL("SELECT * FROM {}.{}(ARRAY[ROW(%s, %s, %s, %s)]::{}.{}[])").format(
            schema,
            sql.Identifier(recorder.pg_function_name_insert_events),
            schema,
            sql.Identifier(recorder.stored_event_type_name),
        ),
        (stored.originator_id, stored.originator_version, stored.topic, stored.state),
    )
    return trip.id


def position_of(conn: psycopg.Connection, table: str, aggregate_id: UUID) -> LogPosition:
    """Where the aggregate's first event is in the log (as `conn` sees it)."""
    row = conn.execute(
        sql.SQL(
            "SELECT transaction_id::text::bigint, notification_id FROM {} WHERE originator_id = %s"
        ).format(sql.Identifier(table)),
        (aggregate_id,),
    ).fetchone()
    assert row is not None
    return LogPosition(int(row[0]), int(row[1]))


class Tail:
    """A log reader as the relay runs one: each read goes on from the last position. Other
    transactions on the server (other tests) may hold it back a moment: callers wait."""

    def __init__(self, reader: OutboxReader) -> None:
        self.reader = reader
        self.position = START
        self.delivered: list[UUID] = []
        self.positions: list[LogPosition] = []

    def read(self) -> None:
        batch = self.reader.read_after(self.position, 100)
        assert batch.last_position >= self.position
        self.delivered.extend(m.event.aggregate_id for m in batch.messages)
        self.positions.extend(m.position for m in batch.messages)
        self.position = batch.last_position

    def until(self, *wanted: UUID) -> list[UUID]:
        def check() -> list[UUID]:
            self.read()
            assert set(wanted) <= set(self.delivered)
            return self.delivered

        return eventually(check)


def test_an_event_committed_after_later_ones_were_read_is_delivered_once(
    database_url: str,
) -> None:
    prepare_database(Settings(database_url=database_url))
    planner = TripPlanner(build_event_store(Settings(database_url=database_url)))
    events = planner.events
    tail = Tail(OutboxReader(events))
    context = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    plan = PlanTrip("Later", "", date(2027, 1, 1), date(2027, 1, 2))
    first = planner.plan_trip(plan, context).trip_id  # committed before anything is open
    try:
        with open_transaction(database_url) as early, open_transaction(database_url) as held:
            early_xid = take_xid(early)  # an older transaction than `held`, not written yet
            held_trip = insert_planned_trip(held, events)
            assert take_xid(held) > early_xid
            early_trip = insert_planned_trip(early, events)  # a higher id, a lower xid
            table = events.recorder.events_table_name
            held_at = position_of(held, table, held_trip)
            early_at = position_of(early, table, early_trip)
            assert early_at.notification > held_at.notification
            assert early_at.transaction < held_at.transaction
            early.commit()
            later = [planner.plan_trip(plan, context).trip_id for _ in range(3)]

            # The reader gets past a notification id above the held event's...
            assert tail.until(first, early_trip) == [first, early_trip]
            # ...and no further while it is open, however often it looks.
            for _ in range(3):
                tail.read()
            assert tail.delivered == [first, early_trip]
            assert tail.position < held_at
            assert tail.reader.head() < held_at
            # The backlog counts what is committed behind it (the held event is not, yet), and
            # the reader is told events wait there (their readiness sends no notice).
            assert tail.reader.backlog(tail.position) == len(later)
            assert tail.reader.read_after(tail.position, 100).waiting
            held.commit()

        assert tail.until(held_trip, *later) == [first, early_trip, held_trip, *later]
        assert tail.positions[2] == held_at
        assert tail.positions == sorted(tail.positions)
        tail.read()
        assert len(tail.delivered) == 2 + 1 + len(later)  # each exactly once
        assert tail.reader.backlog(tail.position) == 0
        assert not tail.reader.read_after(tail.position, 100).waiting
        assert eventually(lambda: _equal(tail.reader.head(), tail.position))
    finally:
        events.close()


def test_a_transaction_that_rolls_back_holds_readers_only_while_open(database_url: str) -> None:
    prepare_database(Settings(database_url=database_url))
    planner = TripPlanner(build_event_store(Settings(database_url=database_url)))
    events = planner.events
    tail = Tail(OutboxReader(events))
    context = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    plan = PlanTrip("After", "", date(2027, 1, 1), date(2027, 1, 2))
    try:
        with open_transaction(database_url) as doomed:
            insert_planned_trip(doomed, events)
            after = planner.plan_trip(plan, context).trip_id
            tail.read()
            assert (tail.delivered, tail.position) == ([], START)
            doomed.rollback()
        assert tail.until(after) == [after]
    finally:
        events.close()


def _equal(found: LogPosition, expected: LogPosition) -> bool:
    assert found == expected
    return True
