"""Writers insert in parallel, so notification ids commit out of order; a reader tails the log
by (transaction id, notification id), below the oldest transaction in progress, and must never
pass over an event that commits late. This checks it under concurrency."""

from __future__ import annotations

import threading
from datetime import date
from uuid import uuid4

from infra.database import build_event_store, prepare_database
from infra.settings import Settings
from streams.outbox import OutboxReader
from streams.position import START, LogPosition
from write_side.context import CommandContext
from write_side.trips.commands import PlanTrip
from write_side.trips.planner import TripPlanner

WRITERS = 16
TRIPS_PER_WRITER = 60


def test_a_tailing_reader_never_passes_over_an_event_that_commits_late(database_url: str) -> None:
    settings = Settings(database_url=database_url, db_pool_size=WRITERS + 2)
    prepare_database(settings)
    planner = TripPlanner(build_event_store(settings))
    reader = OutboxReader(planner.events)
    stop = threading.Event()
    seen: list[LogPosition] = []

    def tail() -> None:
        position = START
        # After the writers stopped, read until nothing is left (no transaction is open).
        while not stop.is_set() or reader.backlog(position) > 0:
            batch = reader.read_after(position, 100)
            seen.extend(m.position for m in batch.messages)
            assert batch.last_position >= position
            position = batch.last_position

    def write() -> None:
        context = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
        for n in range(TRIPS_PER_WRITER):
            planner.plan_trip(PlanTrip(f"T{n}", "", date(2027, 1, 1), date(2027, 1, 2)), context)

    tailer = threading.Thread(target=tail)
    writers = [threading.Thread(target=write) for _ in range(WRITERS)]
    try:
        tailer.start()
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
    finally:
        stop.set()
        tailer.join(timeout=60)
    recorded = [n.id for n in planner.events.recorder.select_notifications(start=1, limit=10**6)]
    planner.events.close()
    assert len(recorded) == WRITERS * TRIPS_PER_WRITER
    assert seen == sorted(seen), "the reader went back"
    assert all(p.transaction > 0 for p in seen), "not read in transaction order"
    ids = sorted(p.notification for p in seen)
    assert ids == recorded, f"{len(set(recorded) - set(ids))} events passed over"
