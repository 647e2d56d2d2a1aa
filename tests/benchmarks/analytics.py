"""The analytics stream, on a Tansu broker of its own: (a) one `itinera worker`'s throughput
from `trip-events` to facts on `analytics-events`, beside a bare kafka-python consume →
produce loop over the same messages; (b) the lag from a command (HTTP through `itinera api`)
to its fact on `analytics-events`, beside a bare kafka-python produce → consume lag; each
pair in the same run.

    .venv/bin/python -m tests.benchmarks.analytics [--trips 500] [--commands 300]
        [--rate 20] [--write-docs]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import httpx
import psycopg
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.consumer.fetcher import ConsumerRecord

from infra.postgres.projections.store import CHANNEL
from projections.analytics import ANALYTICS
from projections.catalogue import PROJECTIONS
from streams.topics import ANALYTICS_EVENTS, TRIP_EVENTS
from tests.benchmarks.harness import (
    cpu_seconds,
    machine,
    markdown_table,
    p50_p99,
    print_table,
    rate,
    roles,
    wait_for_http,
    write_section,
)
from tests.benchmarks.worker import relayed, relayed_history
from tests.services import (
    as_url,
    free_port,
    fresh_database,
    postgres_server,
    redis_server,
    tansu_broker,
)

PARTITIONS = 4
BATCH = 500  # the worker's batch size (ITINERA_PROJECTION_BATCH_SIZE's default)
COPY_TOPIC = "bench-copy"
ECHO_TOPIC = "bench-echo"
TRIPS_FOR_COMMANDS = 10
PASSWORD = "Benchmark pass 2030"
LIMITS = {
    "ITINERA_LOGIN_ATTEMPTS_PER_ADDRESS": "100000",
    "ITINERA_REGISTRATIONS_PER_ADDRESS": "100000",
    "ITINERA_WRITES_PER_USER": "10000000",
}
# What the analytics projection's facts publisher uses (infra/kafka.py), for the baselines.
PRODUCER = {"enable_idempotence": True, "acks": "all", "linger_ms": 2}
TAIL_FETCH_WAIT_MS = 10  # the measuring consumer's; the same for a figure and its baseline


def analytics_applied(url: str) -> int:
    """Trip events the analytics projection has applied (its facts are on the topic by
    then: a batch's facts are acknowledged by the broker before the batch commits)."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT coalesce(sum(version), 0) FROM analytics_tracking").fetchone()
    return int(row[0]) if row else 0


def read_all(bootstrap: str, topic: str) -> list[ConsumerRecord]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    ends = consumer.end_offsets(partitions)
    found: list[ConsumerRecord] = []
    while any(consumer.position(tp) < ends[tp] for tp in partitions):
        for records in consumer.poll(timeout_ms=1000).values():
            found.extend(records)
    consumer.close()
    return found


def span(records: list[ConsumerRecord]) -> float:
    """Seconds from the first message's timestamp to the last's (producer's create time)."""
    stamps = [r.timestamp for r in records]
    return (max(stamps) - min(stamps)) / 1000


def bare_copy(bootstrap: str, expected: int) -> tuple[float, float]:
    """Consume every trip event and produce one message per event to another topic, a batch
    of up to BATCH at a time, flushed (acks=all) before the next poll. Returns the seconds
    from start to the last acknowledgement, and from the first copy to the last."""
    started = time.perf_counter()
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, max_poll_records=BATCH
    )
    producer = KafkaProducer(bootstrap_servers=bootstrap, **PRODUCER)
    partitions = [TopicPartition(TRIP_EVENTS, p) for p in range(PARTITIONS)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    copied, deadline = 0, time.monotonic() + 600
    while copied < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the bare loop copied {copied} of {expected} messages")
        for records in consumer.poll(timeout_ms=1000).values():
            for r in records:
                producer.send(COPY_TOPIC, key=r.key, value=r.value, headers=r.headers)
            copied += len(records)
        producer.flush()
    seconds = time.perf_counter() - started
    consumer.close()
    producer.close()
    return seconds, span(read_all(bootstrap, COPY_TOPIC))


class Tail(threading.Thread):
    """Notes when each message of a topic arrives, by its correlation_id header (from the
    topic's end when it started)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.arrived: dict[str, float] = {}
        self.ready = threading.Event()
        self._done = threading.Event()
        self._servers = bootstrap
        self._topic = topic

    def run(self) -> None:
        consumer = KafkaConsumer(
            bootstrap_servers=self._servers,
            enable_auto_commit=False,
            fetch_max_wait_ms=TAIL_FETCH_WAIT_MS,
        )
        partitions = [TopicPartition(self._topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        consumer.seek_to_end(*partitions)
        for tp in partitions:
            consumer.position(tp)  # resolve the end now, before anything is sent
        self.ready.set()
        while not self._done.is_set():
            for records in consumer.poll(timeout_ms=100).values():
                now = time.perf_counter()
                for r in records:
                    correlation = dict(r.headers).get("correlation_id", b"").decode()
                    self.arrived.setdefault(correlation, now)
        consumer.close()

    def lags(self, sent: dict[str, float], timeout: float = 60) -> list[float]:
        deadline = time.monotonic() + timeout
        while any(c not in self.arrived for c in sent) and time.monotonic() < deadline:
            time.sleep(0.05)
        missing = [c for c in sent if c not in self.arrived]
        if missing:
            raise RuntimeError(f"{len(missing)} of {len(sent)} never arrived")
        return [self.arrived[c] - at for c, at in sent.items()]

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=10)


class Batches(threading.Thread):
    """Counts the batches each projection commits: each sends a NOTIFY at commit."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.counts: Counter[str] = Counter()
        self.ready = threading.Event()
        self._done = threading.Event()
        self._url = url

    def run(self) -> None:
        with psycopg.connect(self._url, autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.ready.set()
            while not self._done.is_set():
                for note in conn.notifies(timeout=0.2):
                    self.counts[note.payload] += 1

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=10)


def paced(count: int, per_second: float, send: Callable[[int], None]) -> None:
    """Call `send(n)` `count` times, each when due at the rate (open loop while it keeps up)."""
    start = time.perf_counter()
    for n in range(count):
        wait = start + n / per_second - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        send(n)


def bare_lags(bootstrap: str, count: int, per_second: float) -> list[float]:
    """A message produced (acks=all, flushed) to its consumed, at the commands' rate."""
    tail = Tail(bootstrap, ECHO_TOPIC)
    tail.start()
    tail.ready.wait(30)
    producer = KafkaProducer(bootstrap_servers=bootstrap, **PRODUCER)
    sent: dict[str, float] = {}

    def send(n: int) -> None:
        correlation = str(uuid4())
        sent[correlation] = time.perf_counter()
        headers = [("correlation_id", correlation.encode())]
        producer.send(ECHO_TOPIC, key=str(n % 97).encode(), value=b"{}", headers=headers)
        producer.flush()

    paced(count, per_second, send)
    try:
        return tail.lags(sent)
    finally:
        producer.close()
        tail.stop()


def command_lags(
    base: str, bootstrap: str, count: int, per_second: float
) -> tuple[list[float], list[float]]:
    """`POST /api/v1/activities` (a costed activity: one ActivityPlannedFact), sent with its
    own X-Correlation-Id, to the fact carrying that id on analytics-events; and each
    request's round trip."""
    with httpx.Client(base_url=base, timeout=30) as client:
        name = f"bench_{uuid4().hex[:10]}"
        client.post(
            "/api/v1/auth/register",
            json={"email": f"{name}@example.org", "username": name, "password": PASSWORD},
        )
        login = client.post("/api/v1/auth/login", json={"login": name, "password": PASSWORD})
        me = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
        places = []
        for n in range(TRIPS_FOR_COMMANDS):
            trip = {"title": f"Trip {n}", "start_date": "2030-05-01", "end_date": "2030-05-09"}
            trip_id = client.post("/api/v1/trips", json=trip, headers=me).json()["data"]["id"]
            stop = {
                "trip_id": trip_id,
                "name": "Lisbon",
                "location": {"lat": 38.7, "lng": -9.1},
                "arrival_date": "2030-05-02",
                "departure_date": "2030-05-05",
            }
            places.append(client.post("/api/v1/destinations", json=stop, headers=me))
        destinations = [p.json()["data"]["id"] for p in places]
        tail = Tail(bootstrap, ANALYTICS_EVENTS)
        tail.start()
        tail.ready.wait(30)
        sent: dict[str, float] = {}
        round_trips: list[float] = []

        def send(n: int) -> None:
            correlation = str(uuid4())
            body = {
                "destination_id": destinations[n % len(destinations)],
                "title": f"Activity {n}",
                "activity_type": "sightseeing",
                "cost": "12.50",
                "currency": "EUR",
            }
            sent[correlation] = time.perf_counter()
            response = client.post(
                "/api/v1/activities", json=body, headers={**me, "X-Correlation-Id": correlation}
            )
            round_trips.append(time.perf_counter() - sent[correlation])
            if response.status_code != 201:
                raise RuntimeError(response.text)

        paced(count, per_second, send)
        try:
            return tail.lags(sent), round_trips
        finally:
            tail.stop()


def settle(url: str, check: Callable[[], None]) -> float:
    """Wait until the relay published everything and every projection has caught up with
    the heads the worker last reported (it reports them every second); returns the wait."""
    started, quiet = time.perf_counter(), 0
    while quiet < 3:
        check()
        time.sleep(1)
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM projection_lanes WHERE head_offset > applied_offset"
            ).fetchone()
        quiet = quiet + 1 if relayed(url) and row and row[0] == 0 else 0
    return time.perf_counter() - started


def analytics_facts(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM analytics_facts").fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trips", type=int, default=500)
    parser.add_argument("--commands", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="itinera-bench-analytics-"))
    port = free_port()
    with (
        postgres_server() as admin,
        fresh_database(admin, "itinera_bench_analytics") as db,
        tansu_broker() as bootstrap,
        redis_server() as redis_url,
    ):
        url = as_url(db)
        env = {
            "ITINERA_DATABASE_URL": url,
            "ITINERA_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "ITINERA_TOPIC_PARTITIONS": str(PARTITIONS),
            "ITINERA_WORKER_APP_ID": f"bench-{uuid4().hex[:8]}",
            "ITINERA_DATA_DIR": str(log_dir / "data"),
            "ITINERA_KEYS_DIR": str(log_dir / "keys"),
            "ITINERA_REDIS_URL": redis_url,
            "ITINERA_REDIS_NAMESPACE": f"bench-{uuid4().hex[:8]}",
            **LIMITS,
        }
        admin_client = KafkaAdminClient(bootstrap_servers=bootstrap)
        admin_client.create_topics([NewTopic(t, PARTITIONS, 1) for t in (COPY_TOPIC, ECHO_TOPIC)])
        admin_client.close()
        with roles(env, log_dir) as running:
            running.run("topics", "create")
            total = relayed_history(running, url, args.trips)

            copy_seconds, copy_sustained = bare_copy(bootstrap, total)
            print(f"bare copy: {copy_seconds:.1f} s ({copy_sustained:.1f} s sustained)")

            batches = Batches(url)
            batches.start()
            batches.ready.wait(30)
            started = time.perf_counter()
            running.start("worker", "worker")
            while analytics_applied(url) < total:
                running.check()
                time.sleep(0.05)
            worker_seconds = time.perf_counter() - started
            worker_cpu = cpu_seconds(running.processes["worker"].pid)
            batches.stop()
            per_batch = total / batches.counts[ANALYTICS.name]
            facts = read_all(bootstrap, ANALYTICS_EVENTS)
            distinct = len({dict(f.headers)["event_id"] for f in facts})
            stored = analytics_facts(url)
            if distinct != stored:
                raise RuntimeError(f"{distinct} distinct facts on the topic, {stored} stored")
            worker_sustained = span(facts)
            print(f"worker: {worker_seconds:.1f} s ({worker_sustained:.1f} s sustained)")
            print(f"worker: {per_batch:.1f} events per analytics batch, {dict(batches.counts)}")
            print(f"worker: {worker_cpu:.1f} s of CPU in {worker_seconds:.1f} s")

            running.run("keys", "rotate")
            running.start("relay", "relay")
            running.start("api", "api", "--port", str(port))
            base = f"http://127.0.0.1:{port}"
            wait_for_http(f"{base}/health", running)
            # The notifier's backlog, and the chat announcements of the history.
            print(f"caught up after {settle(url, running.check):.0f} s")
            echo = bare_lags(bootstrap, args.commands, args.rate)
            lags, round_trips = command_lags(base, bootstrap, args.commands, args.rate)
            running.check()
        reading = [p.name for p in PROJECTIONS if TRIP_EVENTS in p.topics]
        throughput_header = ["what", "in", "out", "from start", "sustained", "events/s"]
        throughput = [
            [
                "baseline: bare kafka-python consume → produce (batches of 500, acks=all)",
                f"{total:,} events",
                f"{total:,} copies",
                f"{copy_seconds:.1f} s",
                f"{copy_sustained:.1f} s",
                f"{rate(total, copy_seconds)} ({rate(total, copy_sustained)} sustained)",
            ],
            [
                "`itinera worker` (all projections), trip events → analytics facts",
                f"{total:,} events",
                f"{len(facts):,} facts",
                f"{worker_seconds:.1f} s",
                f"{worker_sustained:.1f} s",
                f"{rate(total, worker_seconds)} ({rate(total, worker_sustained)} sustained)",
            ],
        ]
        lag_header = ["what", "messages", "lag", "HTTP round trip"]
        lag_rows = [
            [
                "baseline: bare kafka-python produce (acks=all, flushed) → consume",
                f"{len(echo):,}",
                p50_p99(echo),
                "-",
            ],
            [
                "command (`POST /api/v1/activities`) → its fact on `analytics-events`",
                f"{len(lags):,}",
                p50_p99(lags),
                p50_p99(round_trips),
            ],
        ]
        print_table("Throughput", throughput_header, throughput)
        print_table(f"Lag at {args.rate:g} commands/s", lag_header, lag_rows)
        if args.write_docs:
            tables = (
                markdown_table(throughput_header, throughput),
                markdown_table(lag_header, lag_rows),
            )
            write_section(
                "analytics",
                _doc(
                    machine(admin),
                    args,
                    total,
                    reading,
                    per_batch,
                    worker_cpu / worker_seconds,
                    *tables,
                ),
            )


def _doc(
    where: str,
    args: argparse.Namespace,
    total: int,
    reading: list[str],
    per_batch: float,
    busy: float,
    throughput: str,
    lag: str,
) -> str:
    return f"""## Analytics stream

{where}

Reproduce (about 4 minutes): `.venv/bin/python -m tests.benchmarks.analytics --write-docs`

**Throughput.** A history of {args.trips:,} trips ({total:,} events, written through the
`Trip` aggregate as in the worker benchmark: members, destinations, costed activities,
renames, status changes) is relayed to `trip-events` ({PARTITIONS} partitions) with no
worker running. Then one `itinera worker` starts and runs **all** its projections, as in
production ({len(PROJECTIONS)} agents, {len(reading)} of them reading `trip-events`:
{", ".join(reading)}); the analytics projection turns the events into facts and publishes
each batch's facts (acks=all) before it commits the batch. *From start* runs from the
worker's process start (Faust's start and the group join included) until the analytics
projection has applied every event; *sustained* runs from the first fact's timestamp on
`analytics-events` to the last's. The baseline, in the same run over the same messages, is
a kafka-python loop that polls up to {BATCH} events, produces one message per event to
another topic with the facts publisher's producer settings (idempotent, acks=all, linger
2 ms) and flushes before the next poll.

{throughput}

What limits the worker is its own CPU, not Kafka nor the size of its batches: the worker
process used **{busy:.0%} of a core** from its start to the last fact (its event loop runs
all {len(PROJECTIONS)} agents: decoding, folding and writing each event once per projection
reading it, {len(reading)} for a trip event), while its batches were not small (the
analytics projection's averaged {per_batch:.0f} events; each batch sends a NOTIFY at commit,
which the script counts).

**Lag.** Then the relay and `itinera api` start beside the worker, and once every
projection has caught up (the notifier's backlog, the history's chat
announcements) and stayed so for 3 s, {args.commands} commands
at {args.rate:g}/s, each a `POST /api/v1/activities` with a cost (one
`ActivityPlannedFact`) and an `X-Correlation-Id` of its own, on {TRIPS_FOR_COMMANDS} trips;
the lag runs from just before the request is sent to when a kafka-python consumer tailing
`analytics-events` (fetch wait {TAIL_FETCH_WAIT_MS} ms) receives the fact carrying that
correlation id: the append, the relay, the worker's batch, the facts' publication and the
last fetch. The baseline, in the same run and with the same tailing consumer, is a message
produced with the same producer settings and flushed at the same rate.

{lag}

At the median, the lag above the baseline fits within the waits the settings choose (up to
110 ms together): the relay looks at an idle event store every 50 ms
(`ITINERA_RELAY_POLL_INTERVAL`), the broker may hold the worker's fetch 50 ms
(`ITINERA_WORKER_FETCH_MAX_WAIT_MS`) and a batch waits 10 ms to fill
(`ITINERA_PROJECTION_BATCH_WAIT`); beyond them is the worker's own time, a transaction per
event in each projection as above.
"""


if __name__ == "__main__":
    main()
