"""One Faust worker's sustained projection throughput: `itinera worker` projecting a topic
full of trip events into PostgreSQL, beside a bare kafka-python consumer reading the same
topic and a bare Faust worker counting it (same transport and batching), in the same run.

    .venv/bin/python -m tests.benchmarks.worker [--trips 2500] [--write-docs]
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from uuid import uuid4

import psycopg
from kafka import KafkaConsumer, TopicPartition

from infra.database import build_event_store
from infra.settings import Settings
from streams.topics import TRIP_EVENTS
from tests.benchmarks.harness import (
    ROOT,
    Roles,
    machine,
    markdown_table,
    print_table,
    rate,
    roles,
    write_section,
)
from tests.benchmarks.history import write_history
from tests.services import as_url, fresh_database, kafka_broker, postgres_server

EVENTS_PER_TRIP = 40
PARTITIONS = 4


def relayed(url: str) -> bool:
    """No event after the relay's (transaction id, notification id) position."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT position FROM stream_positions WHERE name = 'relay'),"
            " (SELECT count(*) FROM itinera_events e, stream_positions p"
            "  WHERE p.name = 'relay' AND (e.transaction_id, e.notification_id)"
            "  > (p.transaction_id::text::xid8, p.position))"
        ).fetchone()
    return bool(row and row[0] is not None and row[1] == 0)


def applied(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT coalesce(sum(version), 0) FROM trip_views_tracking").fetchone()
    return int(row[0]) if row else 0


def relayed_history(running: Roles, url: str, trips: int) -> int:
    """Migrate the empty store (the projections start complete), write a history of `trips`
    trips and let the relay put it on `trip-events`, then stop the relay; returns the number
    of events."""
    running.run("migrate")
    events = build_event_store(Settings(database_url=url))
    for saved in write_history(events, trips, EVENTS_PER_TRIP):
        print(f"\rhistory: {saved:,} / {trips:,} trips", end="", flush=True)
    total = int(events.recorder.max_notification_id() or 0)
    events.close()
    running.start("relay", "relay")
    while not relayed(url):
        running.check()
        time.sleep(0.5)
    running.stop("relay")
    print(f"\n{total:,} events on {TRIP_EVENTS}")
    return total


def bare_consumer(bootstrap: str, expected: int) -> float:
    """Read every message of the topic with a plain consumer (partitions assigned, no group)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=10_000
    )
    partitions = [TopicPartition(TRIP_EVENTS, p) for p in range(PARTITIONS)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    started = time.perf_counter()
    count = sum(1 for _ in itertools.islice(consumer, expected))
    seconds = time.perf_counter() - started
    consumer.close()
    if count < expected:
        raise RuntimeError(f"the bare consumer read {count} of {expected} messages")
    return seconds


def bare_faust(bootstrap: str, expected: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "counted"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.benchmarks.faust_counter",
                bootstrap,
                str(PARTITIONS),
                str(expected),
                str(out),
                str(Path(folder) / "faust"),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while not out.exists():
                if process.poll() is not None:
                    raise RuntimeError("the bare Faust worker exited early")
                time.sleep(0.2)
            first, last = map(float, out.read_text().split())
            return last - first
        finally:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trips", type=int, default=2_500)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="itinera-bench-worker-"))
    with (
        postgres_server() as admin,
        fresh_database(admin, "itinera_bench_worker") as db,
        kafka_broker() as bootstrap,
    ):
        url = as_url(db)
        env = {
            "ITINERA_DATABASE_URL": url,
            "ITINERA_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "ITINERA_TOPIC_PARTITIONS": str(PARTITIONS),
            "ITINERA_WORKER_APP_ID": f"bench-{uuid4().hex[:8]}",
            "ITINERA_DATA_DIR": str(log_dir / "data"),
        }
        with roles(env, log_dir) as running:
            running.run("topics", "create")
            total = relayed_history(running, url, args.trips)

            consumer_seconds = bare_consumer(bootstrap, total)
            faust_seconds = bare_faust(bootstrap, total)

            running.start("worker", "worker")
            first = None
            while (done := applied(url)) < total:
                running.check()
                if done and first is None:
                    first = time.perf_counter()
                time.sleep(0.05)
            worker_seconds = time.perf_counter() - (first or time.perf_counter())
        header = ["what", "events", "seconds", "events/s"]
        rows = [
            [
                "baseline: bare kafka-python consumer, reading only",
                f"{total:,}",
                f"{consumer_seconds:.1f}",
                rate(total, consumer_seconds),
            ],
            [
                "baseline: bare Faust worker, same transport and batches, counting only",
                f"{total:,}",
                f"{faust_seconds:.1f}",
                rate(total, faust_seconds),
            ],
            [
                "`itinera worker` (one process), projecting into PostgreSQL",
                f"{total:,}",
                f"{worker_seconds:.1f}",
                rate(total, worker_seconds),
            ],
        ]
        print_table("One worker", header, rows)
        if args.write_docs:
            write_section("worker", _doc(machine(admin), args.trips, total, header, rows))


def _doc(where: str, trips: int, total: int, header: list[str], rows: list[list[str]]) -> str:
    return f"""## One Faust worker

{where}

Reproduce (about 3 minutes): `.venv/bin/python -m tests.benchmarks.worker --write-docs`

A history of {trips:,} trips ({total:,} events, as in the rebuild benchmark) is relayed to
`trip-events` ({PARTITIONS} partitions) first; then one `itinera worker` consumes it from the
beginning and projects every event (sustained rate: from its first applied batch to the
last). Batches of up to 500 events, one transaction each, acknowledged once applied. The
baselines read the same topic in the same run: a plain kafka-python consumer, and a Faust
worker with the same transport and `noack_take` batches whose agent only counts (what Faust
itself costs per event).

{markdown_table(header, rows)}

Consuming from a full topic, each batch holds events of many trips, so unlike a rebuild most
trips are read and written once per event or two: the worker's cost per event is decoding
the contract, folding it, and one row write per trip per batch.
"""


if __name__ == "__main__":
    main()
