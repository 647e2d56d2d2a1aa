"""The event store's append notice on a real PostgreSQL (infra/postgres/append_notices.py):
it comes after the append committed, so a reader woken by it finds the events; a burst of
appends from many threads ends with a notice after the last of them; and the insert itself
no longer notifies inside its transaction."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from uuid import UUID, uuid4

import psycopg

from infra.database import build_event_store, prepare_database
from infra.postgres.ordered_recorder import notice_channel
from infra.settings import Settings
from streams.outbox import OutboxReader
from streams.position import LogPosition
from tests.waiting import eventually
from write_side.context import CommandContext
from write_side.trips.commands import PlanTrip
from write_side.trips.planner import TripPlanner

PLAN = PlanTrip("Noticed", "", date(2027, 1, 1), date(2027, 1, 2))


class Listener:
    """LISTENs on the store's channel; on each notice, reads the log up to its readable head
    (what a woken reader finds then)."""

    def __init__(self, database_url: str, channel: str, reader: OutboxReader) -> None:
        self._conn = psycopg.connect(database_url, autocommit=True)
        self._conn.execute(psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(channel)))
        self._reader = reader
        self.found: list[set[UUID]] = []  # per notice, the aggregates readable then
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for _ in self._conn.notifies(timeout=0.1):
                self.found.append(self._readable())

    def _readable(self) -> set[UUID]:
        batch = self._reader.read_after(LogPosition(0, 0), 10_000)
        return {m.event.aggregate_id for m in batch.messages}

    def saw(self, wanted: set[UUID]) -> None:
        """A notice after which all of `wanted` was readable."""
        assert any(wanted <= found for found in self.found), f"{len(self.found)} notices"

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._conn.close()


def _planner(database_url: str) -> TripPlanner:
    settings = Settings(database_url=database_url)
    prepare_database(settings)
    return TripPlanner(build_event_store(settings))


def test_a_reader_woken_by_the_notice_finds_the_append(database_url: str) -> None:
    planner = _planner(database_url)
    listener = Listener(database_url, notice_channel(planner.events), OutboxReader(planner.events))
    try:
        context = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
        trip_id = planner.plan_trip(PLAN, context).trip_id
        eventually(lambda: listener.saw({trip_id}))
    finally:
        listener.close()
        planner.events.close()


def test_a_burst_of_appends_ends_with_a_notice_after_the_last(database_url: str) -> None:
    planner = _planner(database_url)
    listener = Listener(database_url, notice_channel(planner.events), OutboxReader(planner.events))

    def plan(_: int) -> UUID:
        context = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
        return planner.plan_trip(PLAN, context).trip_id

    try:
        with ThreadPoolExecutor(8) as pool:
            planned = set(pool.map(plan, range(200)))
        # Some notice came after every one of them had committed...
        eventually(lambda: listener.saw(planned))
        # ...and far fewer notices than appends: appends that commit together share one.
        assert len(listener.found) < len(planned)
    finally:
        listener.close()
        planner.events.close()


def test_the_insert_itself_sends_no_notice(database_url: str) -> None:
    planner = _planner(database_url)
    recorder = planner.events.recorder
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT pg_get_functiondef(oid) FROM pg_proc WHERE proname = %s",
            (recorder.pg_function_name_insert_events,),  # type: ignore[attr-defined]
        ).fetchone()
    planner.events.close()
    assert row is not None and "INSERT INTO" in row[0] and "NOTIFY" not in row[0].upper()
