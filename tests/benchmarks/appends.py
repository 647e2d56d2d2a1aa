"""Benchmark: event-store appends at 1 and 16 writers, beside the table-locked insert function
it replaced and a raw INSERT + commit, and a tail check (16 writers, one reader, 0 skipped).

    .venv/bin/python -m tests.benchmarks.appends               # print the figures
    .venv/bin/python -m tests.benchmarks.appends --write-docs  # ...and write its section

Each append is `TripPlanner.plan_trip` (one new aggregate per save) on a fresh database.
Exits with status 1 if the tail reader passed over an event (after printing and writing).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import psycopg
from psycopg.sql import SQL, Identifier

from infra.database import event_store_env
from infra.postgres.ordered_recorder import OrderedPostgresApplicationRecorder
from streams.outbox import OutboxReader
from streams.position import LogPosition
from tests.benchmarks.harness import (
    OperationFactory,
    Rounds,
    Throughput,
    docs_flag,
    machine_line,
    markdown_table,
    measure_threads,
    print_table,
    write_section,
)
from tests.services import as_url, fresh_database, postgres_server
from write_side.context import CommandContext
from write_side.event_store import EventStore
from write_side.trips.commands import PlanTrip
from write_side.trips.planner import TripPlanner

SECTION = "appends"
REPRODUCE = ".venv/bin/python -m tests.benchmarks.appends --write-docs"
THREADS = (1, 16)
PROCESSES = 4  # 16 writers also as 4 processes of 4 threads: no one interpreter lock caps them
ROUNDS = 3  # event store and baseline alternate, so drift hits both alike
SECONDS = 2.0  # per round
WARMUP = 0.5
TAIL_SECONDS = 3.0
RAW_PAYLOAD = "x" * 300  # about the size of a stored TripCreated event
TARGET_OF_RAW = 0.60  # issue 14: appends at 16 writers, against a raw INSERT + commit
TARGET_OF_LOCKED = 1.5  # ...and against the table-locked function


class LockedRecorder(OrderedPostgresApplicationRecorder):
    """Before: the insert function as it was, taking `LOCK TABLE ... IN EXCLUSIVE MODE` so
    commits follow notification ids (its own function name, beside the project's), each
    save in a transaction of its own."""

    combine_inserts = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pg_function_name_insert_events = "itinera_bench_insert_events_locked"
        schema = Identifier(self.datastore.schema)
        function = Identifier(self.pg_function_name_insert_events)
        self.sql_invoke_pg_function_insert_events = SQL("SELECT * FROM {}.{}((%s))").format(
            schema, function
        )
        self.sql_create_statements[self.create_insert_function_statement_index] = SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}(events {schema}.{event_type}[]) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
            "BEGIN "
            "  SET LOCAL lock_timeout = '{lock_timeout}s'; "
            "  LOCK TABLE {table} IN EXCLUSIVE MODE; "
            "  NOTIFY {channel}; "
            "  RETURN QUERY "
            "  INSERT INTO {table} AS t (originator_id, originator_version, topic, state) "
            "  SELECT originator_id, originator_version, topic, state FROM unnest(events) "
            "  RETURNING notification_id; "
            "END; $BODY$"
        ).format(
            schema=schema,
            function=function,
            event_type=Identifier(self.stored_event_type_name),
            lock_timeout=self.datastore.lock_timeout,
            table=SQL("{}.{}").format(schema, Identifier(self.events_table_name)),
            channel=Identifier(self.channel_name),
        )

    def _announce(self) -> None:
        """Nothing more: its function notifies inside the insert's transaction."""


class LockedCombinedRecorder(LockedRecorder):
    """The table-locked function with the project's combined inserts: how much of the
    project's figure the combining alone brings."""

    combine_inserts = True


@dataclass(frozen=True)
class InsertPath:
    name: str
    recorder_topic: str
    recorder: type[OrderedPostgresApplicationRecorder]
    locks: bool  # whether its insert function takes the table lock


PROJECT = InsertPath(
    "project setting: xid-ordered, no lock",
    "infra.postgres.ordered_recorder:OrderedPostgresApplicationRecorder",
    OrderedPostgresApplicationRecorder,
    locks=False,
)
LOCKED = InsertPath(
    "before: table-locked function",
    "tests.benchmarks.appends:LockedRecorder",
    LockedRecorder,
    locks=True,
)
LOCKED_COMBINED = InsertPath(
    "table-locked function, combined inserts",
    "tests.benchmarks.appends:LockedCombinedRecorder",
    LockedCombinedRecorder,
    locks=True,
)


def planner_on(url: str, path: InsertPath, *, create_tables: bool = True) -> TripPlanner:
    """A planner saving through `path`, after checking the recorder class it got and whether
    the insert function the database will run takes the lock."""
    env = event_store_env(url, max(THREADS), create_tables=create_tables)
    env["APPLICATION_RECORDER_TOPIC"] = path.recorder_topic
    planner = TripPlanner(EventStore(env=env))
    recorder = planner.events.recorder
    try:
        # By name: run as __main__, this module's LockedRecorder is loaded a second time.
        if type(recorder).__name__ != path.recorder.__name__:
            raise RuntimeError(f"{path.name}: got a {type(recorder).__name__}")
        assert isinstance(recorder, OrderedPostgresApplicationRecorder)
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT pg_get_functiondef(oid) FROM pg_proc WHERE proname = %s",
                (recorder.pg_function_name_insert_events,),
            ).fetchone()
        if row is None or ("LOCK TABLE" in str(row[0])) != path.locks:
            raise RuntimeError(f"{path.name}: its insert function is not what it should be")
    except BaseException:
        planner.events.close()
        raise
    return planner


def plan_trips(planner: TripPlanner) -> OperationFactory:
    command = PlanTrip("Benchmark trip", "", dt.date(2030, 5, 1), dt.date(2030, 5, 9))

    def plan() -> None:
        planner.plan_trip(command, CommandContext(actor_id=uuid4(), correlation_id=uuid4()))

    return lambda: (plan, lambda: None)


def raw_inserts(conninfo: str) -> OperationFactory:
    def make() -> tuple[Any, Any]:
        conn = psycopg.connect(conninfo)

        def insert() -> None:
            conn.execute("INSERT INTO bench_raw_inserts (payload) VALUES (%s)", (RAW_PAYLOAD,))
            conn.commit()

        return insert, conn.close

    return make


@dataclass(frozen=True)
class Row:
    path: InsertPath
    store: Rounds
    raw: Rounds  # raw INSERT + commit, same threads, rounds interleaved with the store's
    processes: int = 1

    @property
    def writers(self) -> str:
        if self.processes == 1:
            return str(self.store.threads)
        each = self.store.threads // self.processes
        return f"{self.store.threads} ({self.processes} processes of {each})"


def compare(url: str, path: InsertPath, threads: int, raw: OperationFactory) -> Row:
    planner = planner_on(url, path)
    stores: list[Throughput] = []
    raws: list[Throughput] = []
    try:
        for _ in range(ROUNDS):
            raws.append(measure_threads("raw", threads, raw, warmup=WARMUP, seconds=SECONDS))
            stores.append(
                measure_threads(
                    path.name, threads, plan_trips(planner), warmup=WARMUP, seconds=SECONDS
                )
            )
    finally:
        planner.events.close()
    return Row(path, Rounds(stores), Rounds(raws))


def _writer_process(
    url: str, path_name: str | None, threads: int, start: Any, results: Any
) -> None:
    """One writer process: `threads` loops of appends through `path_name` (None: raw
    inserts), started with the other processes (`start`, a barrier); puts (ops, errors)."""
    close: Callable[[], None] = _nothing
    if path_name is None:
        factory = raw_inserts(url)
    else:
        path = PROJECT if path_name == PROJECT.name else LOCKED
        planner = planner_on(url, path, create_tables=False)  # the parent created them
        factory, close = plan_trips(planner), planner.events.close
    try:
        start.wait()
        done = measure_threads("process", threads, factory, warmup=WARMUP, seconds=SECONDS)
        results.put((done.ops, done.errors))
    finally:
        close()


def _nothing() -> None:
    return None


def measure_processes(url: str, path: InsertPath | None, writers: int) -> Throughput:
    """`writers` loops spread over PROCESSES processes, timed over the same window."""
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Barrier(PROCESSES, timeout=60), spawn.Queue()
    each = writers // PROCESSES
    workers = [
        spawn.Process(target=_writer_process, args=(url, path and path.name, each, start, results))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    done = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise RuntimeError(f"a writer process exited with {worker.exitcode}")
    name = "raw" if path is None else path.name
    ops, errors = sum(d[0] for d in done), sum(d[1] for d in done)
    return Throughput(name, each * PROCESSES, ops, errors, SECONDS)


def compare_processes(url: str, path: InsertPath) -> Row:
    writers = max(THREADS)
    stores = []
    raws = []
    for _ in range(ROUNDS):
        raws.append(measure_processes(url, None, writers))
        stores.append(measure_processes(url, path, writers))
    return Row(path, Rounds(stores), Rounds(raws), processes=PROCESSES)


@dataclass(frozen=True)
class TailCheck:
    appended: int
    skipped: int
    repeated: int


def tail_check(url: str) -> TailCheck:
    """16 writers through the project setting while one reader tails the log as the relay
    does (`OutboxReader.read_after` its last position); what it never saw, or saw twice."""
    planner = planner_on(url, PROJECT)
    reader = OutboxReader(planner.events)
    start = reader.recorded_head()
    seen: list[LogPosition] = []
    writers_done = threading.Event()

    def tail() -> None:
        position = start
        while True:
            batch = reader.read_after(position, 500)
            seen.extend(m.position for m in batch.messages)
            if batch.read == 0:
                if writers_done.is_set() and reader.backlog(position) == 0:
                    return
                time.sleep(0.001)
            position = batch.last_position

    tailer = threading.Thread(target=tail, daemon=True)
    try:
        tailer.start()
        writers = plan_trips(planner)
        measure_threads("tail", max(THREADS), writers, warmup=0, seconds=TAIL_SECONDS)
        writers_done.set()
        tailer.join()
        recorded = reader.read_after(start, 10**7)
    finally:
        writers_done.set()
        planner.events.close()
    everything = {m.position for m in recorded.messages}
    return TailCheck(len(everything), len(everything - set(seen)), len(seen) - len(set(seen)))


def measure(admin_url: str) -> tuple[list[Row], TailCheck]:
    with fresh_database(admin_url, prefix="itinera_bench_appends") as conninfo:
        url = as_url(conninfo)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE bench_raw_inserts (id bigserial PRIMARY KEY, payload text NOT NULL)"
            )
        raw = raw_inserts(conninfo)
        rows = [compare(url, PROJECT, n, raw) for n in THREADS]
        rows.append(compare(url, LOCKED, max(THREADS), raw))
        rows.append(compare(url, LOCKED_COMBINED, max(THREADS), raw))
        rows.extend(compare_processes(url, path) for path in (PROJECT, LOCKED))
        return rows, tail_check(url)


HEADER = ["writers", "insert path", "appends/s (range)", "raw INSERT + commit/s", "of raw"]
TAIL_HEADER = ["writers", "events appended", "passed over", "read twice"]


def table_rows(rows: list[Row]) -> list[list[str]]:
    return [
        [
            r.writers,
            r.path.name,
            r.store.describe(),
            r.raw.describe(),
            f"{r.store.rate / r.raw.rate:.0%}",
        ]
        for r in rows
    ]


def tail_rows(check: TailCheck) -> list[list[str]]:
    return [[str(max(THREADS)), f"{check.appended:,}", str(check.skipped), str(check.repeated)]]


def verdict(rows: list[Row], check: TailCheck) -> str:
    many = max(THREADS)
    project = next(r for r in rows if r.path is PROJECT and r.processes == PROCESSES)
    locked = next(r for r in rows if r.path is LOCKED and r.processes == PROCESSES)
    of_raw = project.store.rate / project.raw.rate
    of_locked = project.store.rate / locked.store.rate
    errors = sum(r.store.errors + r.raw.errors for r in rows)
    text = (
        f"At {many} writers in {PROCESSES} processes the project setting appends "
        f"{project.store.rate:,.0f}/s: "
        f"{of_raw:.0%} of a raw INSERT + commit (target {TARGET_OF_RAW:.0%}: "
        f"{'met' if of_raw >= TARGET_OF_RAW else 'NOT met'}) and {of_locked:.2f} times the "
        f"table-locked function (target {TARGET_OF_LOCKED}: "
        f"{'met' if of_locked >= TARGET_OF_LOCKED else 'NOT met'}). "
        f"The tail reader passed over {check.skipped} and read twice {check.repeated} of "
        f"{check.appended:,} events. {errors} operations raised an error."
    )
    return textwrap.fill(text, width=96, break_on_hyphens=False, break_long_words=False)


def section(machine: str, rows: list[Row], check: TailCheck) -> str:
    return f"""## Event store appends

{machine}

```
{REPRODUCE}
```

Each append is `TripPlanner.plan_trip(...)`: one new `Trip` per save, a pool of 16, on a fresh
database. **Project setting**: `infra.database.event_store_env` as it is, the insert function
of `infra.postgres.ordered_recorder` (one round trip, no table lock; the log is read in
(transaction id, notification id) order, see docs/design.md); the appends a process makes
while its insert is under way go together in the next one (one statement and one commit,
`infra/postgres/combined_inserts.py`). **Before**: the same recorder with the insert function
it replaced, which took `LOCK TABLE ... IN EXCLUSIVE MODE`, one save per transaction (kept in
`tests/benchmarks/appends.py`). **Table-locked, combined**: that function with the combined
inserts, to show what the combining alone brings. Before each, the script checks the
recorder class and whether the function in the database takes the lock. **Baseline**: a
single-row `INSERT` of {len(RAW_PAYLOAD)} bytes into a two-column table, then `COMMIT`, one
psycopg connection per thread, same database, same process. Store and baseline alternate,
{ROUNDS} rounds of {SECONDS:.0f} s after {WARMUP} s warm-up; a figure is the median round
(range in brackets).

{markdown_table(HEADER, table_rows(rows))}

**Tail check**: {max(THREADS)} writers for {TAIL_SECONDS:.0f} s with the project setting while
one thread tails the log as the relay does. Both counts must be 0.

{markdown_table(TAIL_HEADER, tail_rows(check))}

{verdict(rows, check)}
"""


def main() -> None:
    write = docs_flag(__doc__.split("\n\n")[0], SECTION)
    with postgres_server() as admin_url:
        machine = machine_line(admin_url)
        rows, check = measure(admin_url)
    print(machine)
    print_table("Event store appends", HEADER, table_rows(rows))
    print_table("Tail check", TAIL_HEADER, tail_rows(check))
    print(verdict(rows, check))
    if write:
        write_section(SECTION, section(machine, rows, check))
    if check.skipped or check.repeated:
        print("!!! THE TAIL READER PASSED OVER OR REPEATED EVENTS", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
