"""Commands written straight through the write side (many at once, as the API would), and
snapshots of the read models, for tests that kill the processes that project them."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from typing import Any
from uuid import UUID, uuid4

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError

from infra.database import build_event_store
from infra.settings import Settings
from write_side.context import CommandContext
from write_side.errors import ConcurrencyConflictError, EventStoreUnavailableError
from write_side.trips.commands import AddDestination, PlanTrip, UpdateTripDetails
from write_side.trips.planner import TripPlanner

TABLES = {  # what a projection stores, in a stable order (dead letters without ids or times)
    "trip_views": "SELECT trip_id, version, view FROM trip_views ORDER BY trip_id",
    "user_trips": "SELECT * FROM user_trips ORDER BY user_id, trip_id",
    "trip_items": "SELECT * FROM trip_items ORDER BY item_id",
    "trip_views_tracking": "SELECT * FROM trip_views_tracking ORDER BY aggregate_id",
    "trip_views_dead_letters": "SELECT aggregate_id, aggregate_version, failed"
    " FROM trip_views_dead_letters ORDER BY 1, 2",
    "user_directory": "SELECT * FROM user_directory ORDER BY user_id",
    # The sync feed: what each entity is now and who may pull it. Positions, and the version
    # and time a row was stamped with, follow how events fell into batches (a rebuild
    # batches differently); the content does not.
    "sync_sources": "SELECT * FROM sync_sources ORDER BY aggregate_id",
    "sync_feed": "SELECT entity_id, entity_type, trip_id, deleted, data - 'version' - 'updated_at'"
    " FROM sync_feed ORDER BY entity_id",
    "sync_heads": "SELECT trip_id, trip_version, archived FROM sync_heads ORDER BY trip_id",
    "sync_members": "SELECT trip_id, user_id, member FROM sync_members ORDER BY 1, 2",
    "sync_feed_tracking": "SELECT * FROM sync_feed_tracking ORDER BY aggregate_id",
    # Analytics: each fact once whatever the retries, and the days they add up to.
    "analytics_trips": "SELECT * FROM analytics_trips ORDER BY trip_id",
    "analytics_facts": "SELECT * FROM analytics_facts ORDER BY event_id",
    "analytics_daily": "SELECT * FROM analytics_daily ORDER BY day, metric, dimension",
    "analytics_daily_active": "SELECT * FROM analytics_daily_active ORDER BY day, kind, id",
    "analytics_tracking": "SELECT * FROM analytics_tracking ORDER BY aggregate_id",
}

BEHIND = (  # trips whose view or sync feed has not reached their stream's last version
    "SELECT count(*) FROM (SELECT originator_id, max(originator_version) AS v"
    " FROM itinera_events WHERE topic LIKE 'write_side.trips.trip:Trip.%%' GROUP BY 1) s"
    " LEFT JOIN trip_views_tracking t ON t.aggregate_id = s.originator_id"
    " LEFT JOIN sync_feed_tracking f ON f.aggregate_id = s.originator_id"
    " LEFT JOIN analytics_tracking a ON a.aggregate_id = s.originator_id"
    " WHERE t.version IS DISTINCT FROM s.v OR f.version IS DISTINCT FROM s.v"
    " OR a.version IS DISTINCT FROM s.v"
)


def snapshot(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(database_url) as conn:
        return {table: conn.execute(query).fetchall() for table, query in TABLES.items()}


def trips_behind(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(BEHIND).fetchone()
    return int(row[0]) if row else 0


def wait_until_projected(database_url: str, check: Callable[[], None], timeout: float) -> None:
    """Until every trip's view and sync feed have its stream's last version (`check` raises
    if a process under test died)."""
    deadline = time.monotonic() + timeout
    while (behind := trips_behind(database_url)) > 0:
        check()
        assert time.monotonic() < deadline, f"{behind} trips never caught up"
        time.sleep(0.2)


@dataclass
class Burst:
    """Plans `trips` trips, then sends `commands` commands to them from `writers` threads:
    title changes and new destinations (an event applied twice would show as a duplicate)."""

    database_url: str
    trips: int = 50
    commands: int = 5_000
    writers: int = 6

    def __post_init__(self) -> None:
        self.planner = TripPlanner(build_event_store(Settings(database_url=self.database_url)))
        self.sent = 0
        self.done = threading.Event()
        self.failure: BaseException | None = None
        self._owners: dict[UUID, CommandContext] = {}
        self._lock = threading.Lock()

    def plan(self) -> None:
        for n in range(self.trips):
            owner = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
            trip = self.planner.plan_trip(
                PlanTrip(f"Trip {n}", "", date(2027, 6, 1), date(2027, 6, 30)), owner
            )
            self._owners[trip.trip_id] = owner

    def run(self, until: threading.Event | None = None) -> None:
        """Send the commands; with `until`, go on sending more until it is set."""
        try:
            with ThreadPoolExecutor(self.writers) as pool:
                for _ in pool.map(partial(self._write, until=until), range(self.writers)):
                    pass
        except BaseException as error:  # kept for a test running it in a thread
            self.failure = error
            raise
        finally:
            self.done.set()

    def _write(self, writer: int, until: threading.Event | None) -> None:
        rng = random.Random(writer)
        trips = list(self._owners)
        share = self.commands // self.writers + (writer < self.commands % self.writers)
        n = 0
        while n < share or (until is not None and not until.is_set()):
            trip_id = rng.choice(trips)
            context = replace(self._owners[trip_id], correlation_id=uuid4())
            if rng.random() < 0.5:
                change: Any = UpdateTripDetails(trip_id, title=f"w{writer}-{n}")
                self._retrying(partial(self.planner.update_trip_details, change, context))
            else:
                day = date(2027, 6, rng.randrange(1, 28))
                stop = AddDestination(
                    trip_id, f"w{writer}-{n}", "", {"lat": 1.0, "lng": 2.0}, day, day
                )
                self._retrying(partial(self.planner.add_destination, stop, context))
            with self._lock:
                self.sent += 1
            n += 1

    @staticmethod
    def _retrying(command: Callable[[], Any]) -> None:
        """As a client would: again, after the event store said "not now" or other writers
        kept the trip busy ("retry the command")."""
        for _ in range(300):
            try:
                command()
                return
            except (
                EventStoreUnavailableError,
                ConcurrencyConflictError,
                OperationalError,
                InterfaceError,
            ):
                time.sleep(0.1)
        raise AssertionError("the event store never came back")

    def close(self) -> None:
        self.planner.events.close()


def kill_at_random_during(
    burst: Burst, kill_and_restart: Callable[[], None], pause: tuple[float, float], kills: int
) -> list[int]:
    """Run the burst; meanwhile kill (SIGKILL: no clean-up runs) and restart a process
    `kills` times at random moments, `pause` seconds apart. The burst sends its commands and
    goes on until the last restart, however fast it writes. Returns how many commands had
    been sent at each kill, then in all."""
    rng = random.Random()
    sent_at: list[int] = []
    enough = threading.Event()
    writer = threading.Thread(target=burst.run, args=(enough,))
    writer.start()
    try:
        while len(sent_at) < kills and not burst.done.is_set():
            time.sleep(rng.uniform(*pause))
            sent_at.append(burst.sent)
            kill_and_restart()
    finally:
        enough.set()
        writer.join()
    if burst.failure is not None:
        raise burst.failure
    return [*sent_at, burst.sent]


def assert_equals_a_rebuild(database_url: str, rebuild: Callable[[], str]) -> None:
    """What the live drivers built equals, row by row, what a fresh rebuild builds."""
    live = snapshot(database_url)
    assert "trip_views: version" in rebuild()
    rebuilt = snapshot(database_url)
    assert live["trip_views"], "nothing was projected"
    for table in live:
        assert live[table] == rebuilt[table], f"{table} differs from a rebuild"
