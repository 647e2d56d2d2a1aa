"""Benchmark: event-store appends, and loading a long trip from its snapshot.

Run from the repository root (Postgres on 127.0.0.1:5432; about 2 minutes):

    .venv/bin/python tests/benchmarks/pipeline.py               # print the figures
    .venv/bin/python tests/benchmarks/pipeline.py --write-docs  # ...and write its section

With --write-docs the figures replace this script's section of docs/benchmarks.md (between the
`<!-- pipeline: begin -->` and `<!-- pipeline: end -->` markers, see tests/benchmarks/harness.py);
the other sections belong to other scripts (command-to-visible latency through the distributed
pipeline: tests/benchmarks/latency.py).

1. Appends per second through `TripPlanner.plan_trip` (one new aggregate per save) with the
   project's setting (the ordered insert function of `infra.postgres.ordered_recorder`, which
   takes the table lock) at 1 and 16 writer threads, and, at 16 threads, eventsourcing's own
   insert function (no lock: unsafe to tail, shown only to price the lock) and its plain path
   (DB functions off, locked); each beside a raw psycopg `INSERT` + commit loop at the same
   concurrency on the same fresh database. Then a check that a relay-style reader tailing the
   notification log under 16 writers sees every notification, for the project's setting and
   for the unlocked function.
2. Loading one trip with thousands of events (`TripPlanner.get_trip`): with the project's
   snapshots, and, as the baseline, the same stream replayed in full by the same event store
   with snapshotting off.

Everything talks to 127.0.0.1 only. Exits with status 1 if the project's setting let the tail
reader pass over a notification, or a trip loaded from its snapshot differed from its full
replay (after printing the figures and, with --write-docs, writing them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID, uuid4

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from eventsourcing.domain import MutableOrImmutableAggregate  # noqa: E402
from eventsourcing.postgres import PostgresApplicationRecorder  # noqa: E402

from infra.database import event_store_env  # noqa: E402
from infra.postgres.ordered_recorder import OrderedPostgresApplicationRecorder  # noqa: E402
from streams.outbox import OutboxReader  # noqa: E402
from tests.benchmarks.harness import DOCS, write_section  # noqa: E402
from tests.services import as_url, fresh_database, postgres_server  # noqa: E402
from write_side.context import CommandContext  # noqa: E402
from write_side.event_store import EventStore  # noqa: E402
from write_side.trips.commands import (  # noqa: E402
    AddActivity,
    AddDestination,
    PlanTrip,
    UpdateTripDetails,
    When,
)
from write_side.trips.itinerary import ActivityType  # noqa: E402
from write_side.trips.planner import TripPlanner  # noqa: E402
from write_side.trips.snapshots import TRIP_SNAPSHOT_INTERVAL  # noqa: E402

SECTION = "pipeline"  # this script's section of docs/benchmarks.md
REPRODUCE = ".venv/bin/python tests/benchmarks/pipeline.py --write-docs"

APPEND_THREADS = (1, 16)
APPEND_ROUNDS = 3  # event store and baseline alternate, so drift hits both alike
APPEND_SECONDS = 2.0  # per round
APPEND_WARMUP = 0.5
TAIL_CHECK_SECONDS = 3.0
RAW_PAYLOAD = "x" * 300  # about the size of a stored TripCreated event

# The long trip: a plan, some destinations and activities, then title changes up to this many
# events. One short of a multiple of the interval, so a load reads the latest snapshot and the
# most events the interval allows after it (the worst case).
LONG_TRIP_EVENTS = (5_000 // TRIP_SNAPSHOT_INTERVAL + 1) * TRIP_SNAPSHOT_INTERVAL - 1
LONG_TRIP_DESTINATIONS = 8
ACTIVITIES_PER_DESTINATION = 3
SHORT_TRIP_EVENTS = 5  # a trip with no snapshot yet: what looking for one costs
LOADS = 20  # per kind, alternating
LOAD_WARMUP = 2  # per kind, not counted


# ---------------------------------------------------------------------------- small helpers


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def fine_ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f} ms"


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- 1. appends

Operation = Callable[[], None]
OperationFactory = Callable[[], tuple[Operation, Callable[[], None]]]  # per thread: (op, close)


@dataclass(frozen=True)
class Throughput:
    name: str
    threads: int
    ops: int
    errors: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.ops / self.seconds


@dataclass(frozen=True)
class Rounds:
    """The same measurement repeated; reported as the median round and the range."""

    rounds: list[Throughput]

    @property
    def name(self) -> str:
        return self.rounds[0].name

    @property
    def threads(self) -> int:
        return self.rounds[0].threads

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.rounds)

    @property
    def rate(self) -> float:
        return sorted(r.rate for r in self.rounds)[len(self.rounds) // 2]

    def describe(self) -> str:
        rates = [r.rate for r in self.rounds]
        errors = f", {self.errors} errors" if self.errors else ""
        return f"{self.rate:,.0f} ({min(rates):,.0f} to {max(rates):,.0f}{errors})"


def measure_threads(
    name: str,
    threads: int,
    make_operation: OperationFactory,
    *,
    warmup: float = APPEND_WARMUP,
    seconds: float = APPEND_SECONDS,
) -> Throughput:
    """Run `threads` loops of the operation; count those finished inside the window."""
    counts = [0] * threads
    errors = [0] * threads
    ready = threading.Barrier(threads + 1)
    window: dict[str, float] = {}

    def loop(index: int) -> None:
        operation, close = make_operation()
        try:
            ready.wait()
            start, end = window["start"], window["end"]
            while time.perf_counter() < end:
                try:
                    operation()
                except Exception:
                    errors[index] += 1
                    continue
                now = time.perf_counter()
                if start <= now < end:
                    counts[index] += 1
        finally:
            close()

    workers = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    window["start"] = time.perf_counter() + warmup
    window["end"] = window["start"] + seconds
    ready.wait()
    for worker in workers:
        worker.join()
    return Throughput(name, threads, sum(counts), sum(errors), seconds)


def plan_trips(planner: TripPlanner) -> OperationFactory:
    command = PlanTrip(
        title="Benchmark trip",
        description="",
        start_date=dt.date(2030, 5, 1),
        end_date=dt.date(2030, 5, 9),
    )

    def plan() -> None:
        planner.plan_trip(command, CommandContext(actor_id=uuid4(), correlation_id=uuid4()))

    return lambda: (plan, lambda: None)


def raw_inserts(conninfo: str) -> OperationFactory:
    def make() -> tuple[Operation, Callable[[], None]]:
        conn = psycopg.connect(conninfo)

        def insert() -> None:
            conn.execute("INSERT INTO bench_raw_inserts (payload) VALUES (%s)", (RAW_PAYLOAD,))
            conn.commit()

        return insert, conn.close

    return make


def project_env(url: str) -> dict[str, str]:
    """The project's event store settings, exactly as `infra.database` builds them."""
    return event_store_env(url, max(APPEND_THREADS), create_tables=True)


def unlocked_function_env(url: str) -> dict[str, str]:
    """eventsourcing's own recorder with its insert function: no table lock. Comparison only."""
    env = project_env(url)
    del env["APPLICATION_RECORDER_TOPIC"]
    return env


def plain_path_env(url: str) -> dict[str, str]:
    """eventsourcing's own recorder with DB functions off: its plain path, which locks."""
    env = unlocked_function_env(url)
    env["POSTGRES_ENABLE_DB_FUNCTIONS"] = "no"
    return env


@dataclass(frozen=True)
class InsertPath:
    """One way of saving events to the stored events table."""

    name: str
    make_env: Callable[[str], dict[str, str]]
    recorder: type[PostgresApplicationRecorder]
    db_function: bool  # one `SELECT insert_function(...)` per save
    locks: bool  # `LOCK TABLE ... IN EXCLUSIVE MODE` in every save: commits in id order


PROJECT = InsertPath(
    "project setting: ordered insert function, locks",
    project_env,
    OrderedPostgresApplicationRecorder,
    db_function=True,
    locks=True,
)
UNLOCKED = InsertPath(
    "eventsourcing's insert function, NO lock (unsafe to tail)",
    unlocked_function_env,
    PostgresApplicationRecorder,
    db_function=True,
    locks=False,
)
PLAIN = InsertPath(
    "eventsourcing's plain path (DB functions off), locks",
    plain_path_env,
    PostgresApplicationRecorder,
    db_function=False,
    locks=True,
)


def build_planner(url: str, path: InsertPath) -> TripPlanner:
    """A planner on `path`, after checking it really is that path (recorder class, and whether
    the insert function the database will run takes the lock)."""
    planner = TripPlanner(EventStore(env=path.make_env(url)))
    try:
        recorder = planner.events.recorder
        if type(recorder) is not path.recorder:
            raise RuntimeError(f"{path.name}: got a {type(recorder).__name__}")
        assert isinstance(recorder, PostgresApplicationRecorder)
        if recorder.datastore.enable_db_functions != path.db_function:
            raise RuntimeError(f"{path.name}: enable_db_functions is not {path.db_function}")
        if path.db_function:
            with psycopg.connect(url) as conn:
                row = conn.execute(
                    "SELECT pg_get_functiondef(oid) FROM pg_proc WHERE proname = %s",
                    (recorder.pg_function_name_insert_events,),
                ).fetchone()
            locks = row is not None and "LOCK TABLE" in str(row[0])
            if row is None or locks != path.locks:
                raise RuntimeError(
                    f"{path.name}: insert function {recorder.pg_function_name_insert_events} "
                    f"{'missing' if row is None else 'locks' if locks else 'does not lock'}"
                )
    except BaseException:
        planner.events.close()
        raise
    return planner


@dataclass(frozen=True)
class TailCheck:
    path: InsertPath
    appended: int
    skipped: int


def check_log_tail(url: str, path: InsertPath) -> TailCheck:
    """16 writers and, beside them, one reader tailing the notification log as the relay does
    (`OutboxReader.read_after` the last id seen). Counts notifications it passed over."""
    planner = build_planner(url, path)
    reader = OutboxReader(planner.events)
    first = planner.events.recorder.max_notification_id() or 0
    seen: set[int] = set()
    writers_done = threading.Event()

    def tail() -> None:
        position = first
        while True:
            batch = reader.read_after(position, 500)
            seen.update(m.position for m in batch.messages)
            if batch.last_position == position:
                if writers_done.is_set():
                    return
                time.sleep(0.001)
            position = batch.last_position

    tailer = threading.Thread(target=tail, daemon=True)
    try:
        tailer.start()
        threads = max(APPEND_THREADS)
        measure_threads("tail", threads, plan_trips(planner), warmup=0, seconds=TAIL_CHECK_SECONDS)
        time.sleep(0.2)
        writers_done.set()
        tailer.join()
        notifications = planner.events.recorder.select_notifications(start=first + 1, limit=10**7)
        recorded = {n.id for n in notifications}
    finally:
        writers_done.set()
        planner.events.close()
    return TailCheck(path, len(recorded), len(recorded - seen))


@dataclass(frozen=True)
class AppendRow:
    path: InsertPath
    store: Rounds
    baseline: Rounds  # raw INSERT, same threads, rounds interleaved with the store's


@dataclass(frozen=True)
class AppendResults:
    rows: list[AppendRow]  # the project setting at each thread count, then the comparisons
    tail_checks: list[TailCheck]  # the project setting first

    def project(self, threads: int) -> AppendRow:
        return next(r for r in self.rows if r.path is PROJECT and r.store.threads == threads)

    def at_most_threads(self, path: InsertPath) -> AppendRow:
        threads = max(APPEND_THREADS)
        return next(r for r in self.rows if r.path is path and r.store.threads == threads)

    def tail(self, path: InsertPath) -> TailCheck:
        return next(c for c in self.tail_checks if c.path is path)


def compare(path: InsertPath, threads: int, url: str, baseline: OperationFactory) -> AppendRow:
    planner = build_planner(url, path)
    stores: list[Throughput] = []
    raws: list[Throughput] = []
    try:
        for _ in range(APPEND_ROUNDS):
            raws.append(measure_threads("raw INSERT", threads, baseline))
            stores.append(measure_threads(path.name, threads, plan_trips(planner)))
    finally:
        planner.events.close()
    return AppendRow(path, Rounds(stores), Rounds(raws))


def measure_appends(admin_url: str) -> AppendResults:
    with fresh_database(admin_url, prefix="itinera_bench_appends") as conninfo:
        url = as_url(conninfo)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE bench_raw_inserts (id bigserial PRIMARY KEY, payload text NOT NULL)"
            )
        baseline = raw_inserts(conninfo)
        threads = max(APPEND_THREADS)
        rows = [compare(PROJECT, n, url, baseline) for n in APPEND_THREADS]
        rows += [compare(path, threads, url, baseline) for path in (UNLOCKED, PLAIN)]
        tail_checks = [check_log_tail(url, path) for path in (PROJECT, UNLOCKED)]
    return AppendResults(rows, tail_checks)


# ---------------------------------------------------------------------------- 2. snapshots


class NoSnapshots(EventStore):
    """The project's event store over the same tables, with snapshotting off: every load
    replays the whole stream. The baseline of the snapshot measurement."""

    name = EventStore.name  # eventsourcing names the tables after the application
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[UUID]], int]] = {}


@dataclass(frozen=True)
class LoadTimes:
    """`TripPlanner.get_trip` of one trip, LOADS times each way, alternating."""

    events: int  # in the trip's stream
    with_snapshots: list[float]  # seconds per load, the project's event store
    full_replay: list[float]  # seconds per load, snapshotting off
    same_state: bool  # every pair of loads gave equal trips


@dataclass(frozen=True)
class SnapshotLoads:
    long: LoadTimes
    short: LoadTimes  # a trip too short for a snapshot: what looking for one costs
    snapshot_versions: list[int]  # of the long trip's stored snapshots
    build_seconds: float
    commands: int  # that built the long trip

    @property
    def same_state(self) -> bool:
        return self.long.same_state and self.short.same_state

    @property
    def latest_snapshot(self) -> int:
        return max(self.snapshot_versions, default=0)

    @property
    def after_snapshot(self) -> int:
        return self.long.events - self.latest_snapshot

    @property
    def expected_snapshots(self) -> list[int]:
        return list(range(TRIP_SNAPSHOT_INTERVAL, self.long.events + 1, TRIP_SNAPSHOT_INTERVAL))


def build_long_trip(planner: TripPlanner) -> tuple[UUID, int]:
    """A trip with destinations and activities, then title changes, through the planner's own
    commands (so snapshots are taken as in production) up to LONG_TRIP_EVENTS events."""
    me = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    start = dt.date(2027, 1, 1)
    plan = PlanTrip("Long trip", "", start, start + dt.timedelta(days=7 * LONG_TRIP_DESTINATIONS))
    trip_id = planner.plan_trip(plan, me).trip_id
    commands = 1
    for d in range(LONG_TRIP_DESTINATIONS):
        arrival = start + dt.timedelta(days=7 * d)
        destination = AddDestination(
            trip_id,
            f"Stop {d}",
            "",
            {"lat": 38.7 + d, "lng": -9.1 + d},
            arrival,
            arrival + dt.timedelta(days=6),
        )
        destination_id = planner.add_destination(destination, me).id
        commands += 1
        for a in range(ACTIVITIES_PER_DESTINATION):
            day = dt.datetime.combine(arrival + dt.timedelta(days=a), dt.time(9))
            activity = AddActivity(
                destination_id,
                f"Activity {a}",
                "",
                ActivityType.SIGHTSEEING,
                start=When(day, "Europe/Lisbon"),
                end=When(day + dt.timedelta(hours=2), "Europe/Lisbon"),
                cost=Decimal("12.50"),
                currency="EUR",
            )
            planner.add_activity(activity, me)
            commands += 1
    version = planner.get_trip(trip_id).version
    while version < LONG_TRIP_EVENTS:
        update = UpdateTripDetails(trip_id, title=f"Long trip v{version}")
        version = planner.update_trip_details(update, me).version
        commands += 1
    return trip_id, commands


def build_short_trip(planner: TripPlanner) -> UUID:
    me = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    plan = PlanTrip("Short trip", "", dt.date(2027, 1, 1), dt.date(2027, 1, 9))
    trip_id = planner.plan_trip(plan, me).trip_id
    for n in range(SHORT_TRIP_EVENTS - 1):
        planner.update_trip_details(UpdateTripDetails(trip_id, title=f"Short trip v{n}"), me)
    return trip_id


def timed_load(planner: TripPlanner, trip_id: UUID) -> tuple[float, Any]:
    started = time.perf_counter()
    trip = planner.get_trip(trip_id)
    return time.perf_counter() - started, trip


def compare_loads(project: TripPlanner, replaying: TripPlanner, trip_id: UUID) -> LoadTimes:
    for _ in range(LOAD_WARMUP):
        timed_load(project, trip_id)
        timed_load(replaying, trip_id)
    with_snapshots: list[float] = []
    full_replay: list[float] = []
    same_state = True
    for _ in range(LOADS):  # alternating, so drift hits both alike
        seconds, from_snapshot = timed_load(project, trip_id)
        with_snapshots.append(seconds)
        seconds, replayed = timed_load(replaying, trip_id)
        full_replay.append(seconds)
        same_state = same_state and from_snapshot == replayed
    events = len(project.events.recorder.select_events(trip_id))
    return LoadTimes(events, with_snapshots, full_replay, same_state)


def measure_snapshot_loads(admin_url: str) -> SnapshotLoads:
    with fresh_database(admin_url, prefix="itinera_bench_snapshots") as conninfo:
        env = event_store_env(as_url(conninfo), 2, create_tables=True)
        project = TripPlanner(EventStore(env=env))
        replaying = TripPlanner(NoSnapshots(env=env))
        try:
            if project.events.snapshots is None or replaying.events.snapshots is not None:
                raise RuntimeError("snapshotting is not on for EventStore and off for the baseline")
            started = time.perf_counter()
            long_trip, commands = build_long_trip(project)
            build_seconds = time.perf_counter() - started
            versions = [s.originator_version for s in project.events.snapshots.get(long_trip)]
            short_trip = build_short_trip(project)
            long = compare_loads(project, replaying, long_trip)
            short = compare_loads(project, replaying, short_trip)
        finally:
            project.events.close()
            replaying.events.close()
    return SnapshotLoads(long, short, versions, build_seconds, commands)


# ---------------------------------------------------------------------------- reporting


@dataclass(frozen=True)
class Machine:
    date: str
    cores: int
    python: str
    postgres: str
    platform: str


def describe_machine(admin_url: str) -> Machine:
    with psycopg.connect(admin_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return Machine(
        date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        cores=os.cpu_count() or 0,
        python=platform.python_version(),
        postgres=str(row[0]) if row else "?",
        platform=platform.platform(),
    )


APPEND_HEADER = [
    "writer threads",
    "insert path",
    "appends/s (range)",
    "baseline: raw INSERT + commit/s",
    "event store / baseline",
]
TAIL_HEADER = ["insert path", "notifications appended", "skipped by a relay-style tail reader"]
SNAPSHOT_HEADER = ["trip", "`get_trip`", "reads", "p50", "p95", "max"]


def snapshot_rows(loads: SnapshotLoads) -> list[list[str]]:
    def figures(times: list[float]) -> list[str]:
        return [fine_ms(percentile(times, q)) for q in (50.0, 95.0, 100.0)]

    long, short = loads.long, loads.short
    return [
        [
            f"{long.events:,} events",
            "project setting: latest snapshot + newer events",
            f"snapshot v{loads.latest_snapshot:,} + {loads.after_snapshot} events",
            *figures(long.with_snapshots),
        ],
        [
            f"{long.events:,} events",
            "baseline: full replay, snapshotting off",
            f"{long.events:,} events",
            *figures(long.full_replay),
        ],
        [
            f"{short.events} events",
            "project setting: looks for a snapshot, finds none",
            f"no snapshot + {short.events} events",
            *figures(short.with_snapshots),
        ],
        [
            f"{short.events} events",
            "baseline: full replay, snapshotting off",
            f"{short.events} events",
            *figures(short.full_replay),
        ],
    ]


def append_rows(appends: AppendResults) -> list[list[str]]:
    return [
        [
            str(row.store.threads),
            row.path.name,
            row.store.describe(),
            row.baseline.describe(),
            f"{row.store.rate / row.baseline.rate:.2f}",
        ]
        for row in appends.rows
    ]


def tail_rows(appends: AppendResults) -> list[list[str]]:
    rows = []
    for check in appends.tail_checks:
        skipped = str(check.skipped)
        if check.skipped and check.path.locks:
            skipped += " (EVENTS THE RELAY WOULD LOSE)"
        rows.append([check.path.name, f"{check.appended:,}", skipped])
    return rows


def serious_problems(appends: AppendResults, loads: SnapshotLoads) -> list[str]:
    """What must never happen with the project's setting: a notification passed over by a
    reader tailing the log, or a trip loaded from its snapshot that differs from its full
    replay."""
    problems = []
    if not loads.same_state:
        problems.append(
            "SNAPSHOT LOAD DIFFERS: the trip loaded from its latest snapshot is not equal to the "
            "same trip replayed from all its events"
        )
    check = appends.tail(PROJECT)
    if check.skipped:
        problems.append(
            f"PROJECT SETTING SKIPPED NOTIFICATIONS: the relay-style tail reader passed over "
            f"{check.skipped} of {check.appended:,} notifications saved through the ordered "
            f"insert function; commits did not follow notification-id order, so the relay can "
            f"lose events"
        )
    return problems


def snapshot_anomalies(loads: SnapshotLoads) -> list[str]:
    notes = []
    if loads.snapshot_versions != loads.expected_snapshots:
        expected = loads.expected_snapshots
        notes.append(
            f"snapshots: the trip has {len(loads.snapshot_versions)} snapshots (latest "
            f"v{loads.latest_snapshot}); one every {TRIP_SNAPSHOT_INTERVAL} events would be "
            f"{len(expected)} (latest v{max(expected, default=0)})"
        )
    for trip, wanted in ((loads.long, LONG_TRIP_EVENTS), (loads.short, SHORT_TRIP_EVENTS)):
        if trip.events != wanted:
            notes.append(f"snapshots: a trip has {trip.events} events, not {wanted}")
    return notes


def append_anomalies(appends: AppendResults) -> list[str]:
    notes = []
    for row in appends.rows:
        where = f"{row.path.name}, {row.store.threads} threads"
        if row.store.errors:
            notes.append(f"appends ({where}): {row.store.errors} saves raised an error")
        if row.baseline.errors:
            notes.append(f"appends ({where}): {row.baseline.errors} baseline INSERTs failed")
    return notes


def all_anomalies(appends: AppendResults, loads: SnapshotLoads) -> list[str]:
    checks = serious_problems(appends, loads)  # the tail check and the snapshot state
    return checks + append_anomalies(appends) + snapshot_anomalies(loads)


def print_report(machine: Machine, appends: AppendResults, loads: SnapshotLoads) -> None:
    print(
        f"\n{machine.date}: {machine.cores} cores, Python {machine.python}, "
        f"PostgreSQL {machine.postgres}"
    )
    print_table(
        "1. Event store appends (TripPlanner.plan_trip, one new aggregate per save)",
        APPEND_HEADER,
        append_rows(appends),
    )
    print_table(
        f"   log tail check ({max(APPEND_THREADS)} writers, {TAIL_CHECK_SECONDS:.0f} s)",
        TAIL_HEADER,
        tail_rows(appends),
    )
    print_table(
        f"2. Loading a trip ({LOADS} loads each way, alternating)",
        SNAPSHOT_HEADER,
        snapshot_rows(loads),
    )
    print(
        f"   built by {loads.commands:,} commands in {loads.build_seconds:.1f} s; "
        f"same state both ways: {loads.same_state}"
    )
    for note in all_anomalies(appends, loads):
        print(f"   ! {note}")


def spreads_overlap(a: Rounds, b: Rounds) -> bool:
    low_a, high_a = min(r.rate for r in a.rounds), max(r.rate for r in a.rounds)
    low_b, high_b = min(r.rate for r in b.rounds), max(r.rate for r in b.rounds)
    return low_a <= high_b and low_b <= high_a


def lock_price(locked: Rounds, unlocked: Rounds) -> str:
    if spreads_overlap(locked, unlocked):
        difference = locked.rate / unlocked.rate - 1
        return (
            f"the locked function's median is {abs(difference):.0%} "
            f"{'below' if difference < 0 else 'above'} that, but the rounds of the two overlap, "
            f"so this benchmark cannot tell the lock's cost from noise"
        )
    if locked.rate < unlocked.rate:
        return f"the lock costs about {1 - locked.rate / unlocked.rate:.0%} of throughput there"
    return (
        f"the locked function was {locked.rate / unlocked.rate - 1:.0%} faster in this run, "
        "so the lock costs nothing measurable"
    )


def snapshot_text(loads: SnapshotLoads) -> str:
    long, short = loads.long, loads.short
    snapshot_p50, replay_p50 = percentile(long.with_snapshots, 50), percentile(long.full_replay, 50)
    snapshot_p95, replay_p95 = percentile(long.with_snapshots, 95), percentile(long.full_replay, 95)
    figures = (
        f"Loading the {long.events:,}-event trip from its latest snapshot (v"
        f"{loads.latest_snapshot:,}) and the {loads.after_snapshot} events after it takes "
        f"{fine_ms(snapshot_p50)} at the median ({fine_ms(snapshot_p95)} at p95); replaying "
        f"all {long.events:,} events with snapshotting off takes {fine_ms(replay_p50)} "
        f"({fine_ms(replay_p95)})"
    )
    if max(long.with_snapshots) < min(long.full_replay):
        verdict = (
            f": {replay_p50 / snapshot_p50:,.0f} times faster at the median, and the slowest "
            f"snapshot load was faster than the fastest replay"
        )
    elif snapshot_p50 < replay_p50:
        verdict = (
            f": {replay_p50 / snapshot_p50:,.1f} times faster at the median, but the slowest "
            f"snapshot loads were slower than the fastest replays, so the gain is not a clean one"
        )
    else:
        verdict = ": **snapshots did not make the load faster in this run**"
    short_p50 = percentile(short.with_snapshots, 50)
    short_replay_p50 = percentile(short.full_replay, 50)
    extra = short_p50 - short_replay_p50
    if extra > 0:
        lookup = (
            f"looking for a snapshot first (one more query) adds {fine_ms(extra)} "
            f"({extra / short_replay_p50:.0%}) to every load of a short trip"
        )
    else:
        lookup = "looking for a snapshot first cost nothing measurable in this run"
    short_text = (
        f"On a {short.events}-event trip, too short for a snapshot, a load with the project's "
        f"setting takes {fine_ms(short_p50)} at the median against {fine_ms(short_replay_p50)} "
        f"with snapshotting off: {lookup}."
    )
    if loads.same_state:
        state = f"Every pair of loads, {2 * LOADS} pairs, gave equal `Trip` aggregates."
    else:
        state = "**WARNING: a trip loaded from its snapshot was not equal to its full replay.**"
    return (
        f"{figures}{verdict}. By construction a load reads one snapshot and at most "
        f"{TRIP_SNAPSHOT_INTERVAL - 1} events however long the trip gets; this is that worst "
        f"case. {short_text} {state} Building the long trip took {loads.build_seconds:.1f} s for "
        f"{loads.commands:,} commands ({loads.commands / loads.build_seconds:,.0f}/s, one "
        f"thread), each loading the trip from its latest snapshot before saving."
    )


def interpretation(machine: Machine, appends: AppendResults, loads: SnapshotLoads) -> str:
    most = max(APPEND_THREADS)
    one, many = appends.project(min(APPEND_THREADS)), appends.project(most)
    unlocked, plain = appends.at_most_threads(UNLOCKED), appends.at_most_threads(PLAIN)
    ordered_tail, unlocked_tail = appends.tail(PROJECT), appends.tail(UNLOCKED)
    problems = serious_problems(appends, loads)

    appends_text = (
        f"With the project's setting (eventsourcing's one-round-trip insert function in "
        f"Itinera's ordered variant, which takes the EXCLUSIVE table lock inside the function) "
        f"the event store appends {one.store.rate:,.0f} trips/s with one writer, "
        f"{one.store.rate / one.baseline.rate:.0%} of a bare INSERT + commit, and "
        f"{many.store.rate:,.0f}/s with {most} writers against {many.baseline.rate:,.0f}/s "
        f"({many.store.rate / many.baseline.rate:.0%}), all sharing {machine.cores} cores. "
        f"eventsourcing's own insert function, which skips the lock, reaches "
        f"{unlocked.store.rate:,.0f}/s at {most} writers; "
        f"{lock_price(many.store, unlocked.store)}. "
        f"eventsourcing's plain path (DB functions off, locked, several statements per save) "
        f"appends {plain.store.rate:,.0f}/s."
    )

    if ordered_tail.skipped:
        ordered_text = (
            f"**WARNING: with the project's setting the relay-style tail reader passed over "
            f"{ordered_tail.skipped} of {ordered_tail.appended:,} notifications.** The ordered "
            f"insert function is meant to make that impossible; a relay tailing this log can "
            f"lose events. Do not trust the project's setting until this is explained."
        )
    else:
        ordered_text = (
            f"Under {most} writers the relay-style tail reader saw every one of the "
            f"{ordered_tail.appended:,} notifications saved with the project's setting."
        )
    if unlocked_tail.skipped:
        unlocked_text = (
            f"Behind eventsourcing's unlocked function it passed over {unlocked_tail.skipped} of "
            f"{unlocked_tail.appended:,} for good (saves commit out of notification-id order, "
            f"and a relay would never publish those events): that function is unsafe to tail "
            f"and appears here only to price the lock."
        )
    else:
        unlocked_text = (
            f"Behind eventsourcing's unlocked function it happened to miss none of "
            f"{unlocked_tail.appended:,} in this run, but nothing there makes commits follow "
            f"notification-id order, so that is timing, not a guarantee: the function is unsafe "
            f"to tail and appears here only to price the lock."
        )
    tail_text = f"{ordered_text} {unlocked_text}"
    paragraphs = [
        textwrap.fill(t, width=96, break_on_hyphens=False, break_long_words=False)
        for t in (appends_text, tail_text, snapshot_text(loads))
    ]
    if problems:
        paragraphs.insert(0, "\n".join(f"**{p}.**" for p in problems))
    return "\n\n".join(paragraphs)


def write_docs(machine: Machine, appends: AppendResults, loads: SnapshotLoads) -> None:
    """Write this script's section of docs/benchmarks.md (the rest of the file is left as it
    is): the machine, how to reproduce, both measurements, anomalies and interpretation."""
    notes = all_anomalies(appends, loads)
    anomaly_text = (
        "\n".join(f"- {n}" for n in notes)
        if notes
        else "- none: every save succeeded, the project setting's tail check skipped nothing, "
        f"the long trip had a snapshot every {TRIP_SNAPSHOT_INTERVAL} events, and every "
        "snapshot load equalled its full replay."
    )
    most = max(APPEND_THREADS)
    threads = " and ".join(str(n) for n in APPEND_THREADS)
    text = f"""Measured {machine.date} on {machine.cores} cores ({machine.platform}),
Python {machine.python}, PostgreSQL {machine.postgres} on 127.0.0.1. Everything ran on this one
machine.

Reproduce (from the repository root, with Postgres on 127.0.0.1:5432; about 2 minutes):

```
{REPRODUCE}
```

## Event store appends

Each append is `TripPlanner.plan_trip(PlanTrip(...), CommandContext(...))`: one new `Trip`
aggregate per save, pool of 16, on a fresh database. Three insert paths; before measuring one,
the script checks the recorder class it got and, for the function paths, whether the insert
function defined in the database contains `LOCK TABLE`:

- **project setting**: `infra.database.event_store_env` unchanged:
  `POSTGRES_ENABLE_DB_FUNCTIONS=yes` and `APPLICATION_RECORDER_TOPIC` naming
  `infra.postgres.ordered_recorder`, whose insert function takes
  `LOCK TABLE ... IN EXCLUSIVE MODE` before it inserts: one round trip per save, and saves
  commit in notification-id order. At {threads} writer threads.
- **eventsourcing's insert function, no lock**: the same settings without
  `APPLICATION_RECORDER_TOPIC`, so eventsourcing's own function, which inserts without the lock.
  **Unsafe for a reader tailing the log by id** (see the check below); shown only to price the
  lock. At {most} threads.
- **eventsourcing's plain path**: without the topic and with `POSTGRES_ENABLE_DB_FUNCTIONS=no`:
  eventsourcing takes the same lock, then inserts, as separate statements of one transaction.
  At {most} threads.

The baseline runs in the same process, on the same database, at the same concurrency: a
single-row `INSERT` of a {len(RAW_PAYLOAD)}-byte text into a two-column table, then `COMMIT`,
one psycopg connection per thread. For each row the event store and the baseline alternate,
{APPEND_ROUNDS} rounds each of {APPEND_SECONDS:.0f} s after {APPEND_WARMUP} s of warm-up; a
figure is the median round, with the range of the rounds in brackets.

{markdown_table(APPEND_HEADER, append_rows(appends))}

**Log tail check:** {most} writer threads for {TAIL_CHECK_SECONDS:.0f} s while one thread tails
the notification log the way `streams.relay.Relay` does (`OutboxReader.read_after` the last id
it has seen), once with the project setting and once with eventsourcing's unlocked function. A
notification it never saw was committed after a higher id had already been read; the relay
would never publish it. For the project setting this must be 0.

{markdown_table(TAIL_HEADER, tail_rows(appends))}

## Loading a trip with thousands of events: snapshots against a full replay

The project's `EventStore` snapshots a `Trip` every {TRIP_SNAPSHOT_INTERVAL} events
(`write_side.trips.snapshots.TRIP_SNAPSHOT_INTERVAL`, set in `EventStore.snapshotting_intervals`),
so a load reads the latest snapshot and the events after it. On a fresh database with the
project's Postgres settings, one trip was built through `TripPlanner` commands: `PlanTrip`,
{LONG_TRIP_DESTINATIONS} destinations with {ACTIVITIES_PER_DESTINATION} activities each (times in a
time zone, costs in a currency), then `UpdateTripDetails` title changes up to
{loads.long.events:,} events: {loads.commands:,} commands in {loads.build_seconds:.1f} s, so the
snapshots were taken by the event store as in production (it holds
{len(loads.snapshot_versions)} for the trip). {loads.long.events:,} is one short of a multiple
of the interval: the latest snapshot is as old as it gets, so a load with snapshots reads the
most events it ever has to (the worst case). A second trip of {loads.short.events} events, too
short for a snapshot, prices the snapshot lookup itself.

The baseline runs in the same process, on the same database and the same streams: the same
`EventStore` with `snapshotting_intervals = {{}}` (a subclass keeping the application name, so
the same tables), whose `get_trip` replays every event. For each trip, after {LOAD_WARMUP}
warm-up loads each way, `TripPlanner.get_trip(trip_id)` ran {LOADS} times with snapshots and
{LOADS} times without, alternating; each pair of loads was checked to give equal `Trip`
aggregates.

{markdown_table(SNAPSHOT_HEADER, snapshot_rows(loads))}

### Anomalies

{anomaly_text}

### Interpretation

{interpretation(machine, appends, loads)}
"""
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    write_section(SECTION, text)
    print(f"\nwrote the {SECTION!r} section of {DOCS.relative_to(ROOT)}")


# ---------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help=f"write this script's section ({SECTION!r}) of {DOCS.name}",
    )
    args = parser.parse_args()

    with postgres_server() as admin_url:
        machine = describe_machine(admin_url)
        print(f"1. appends, {APPEND_THREADS} writer threads ...", flush=True)
        appends = measure_appends(admin_url)
        print(f"2. loading a trip of {LONG_TRIP_EVENTS:,} events ...", flush=True)
        loads = measure_snapshot_loads(admin_url)
    print_report(machine, appends, loads)
    problems = serious_problems(appends, loads)
    if args.write_docs:
        write_docs(machine, appends, loads)
    if problems:
        print("\n" + "!" * 96, file=sys.stderr)
        for problem in problems:
            print(f"!!! {problem}", file=sys.stderr)
        print("!" * 96, file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
