"""SIGTERM, as an orchestrator sends it, to every distributed role as a real process: each
finishes what it holds within ITINERA_SHUTDOWN_GRACE_SECONDS and exits 0, and what it held is
then complete and recorded. The API answers its in-flight request, closes its WebSockets with
1001 and refuses new connections (with `--workers 2`, each worker drains); the relay
publishes its batch and saves the position it reached; the Faust worker finishes its batches
and commits their offsets; the planner finishes its job and commits it. An API whose request
outlasts the grace cuts it short (500) and exits 75."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest
from kafka import KafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from infra.cli.roles import GRACE_EXCEEDED_EXIT_CODE, TEARDOWN_SECONDS
from projections.catalogue import PROJECTIONS
from streams.contracts import parse_trip_event
from streams.planner_contracts import ItineraryDraftRequested, parse_planner_event
from streams.position import START, LogPosition
from streams.topics import PLANNER_EVENTS, TRIP_EVENTS
from tests.draft_trips import llm_draft
from tests.e2e.chat_client import chat_url, close_code, next_of, open_socket, subscribe, trip_with
from tests.e2e.load import Burst, assert_equals_a_rebuild, trips_behind, wait_until_projected
from tests.e2e.processes import Role, run_once, signup, wait_for_http
from tests.e2e.stack import Stack, distributed_stack
from tests.e2e.test_planner_role import ask, finished, lisbon_trip
from tests.e2e.test_planner_role import signup as planner_user
from tests.fake_openai import FakeOpenAI, answer, slow
from tests.services import free_port, tansu_broker

pytestmark = pytest.mark.e2e

PARTITIONS = 2
GRACE = 8.0  # every role's grace here: what each holds takes a few seconds at most
CONSISTENCY = 3.0  # how long a read of a version not yet projected waits: a slow request
MODEL_SECONDS = 2.0  # how long the fake model takes to answer the planner
GOING_AWAY = 1001
DRAINED = 0


@pytest.fixture(scope="module")
def stack(postgres_admin_url: str, redis_url: str, tmp_path_factory: Any) -> Iterator[Stack]:
    # A broker of its own: the relay's test reads every trip event on the topic.
    with (
        tansu_broker() as kafka_bootstrap,
        distributed_stack(
            postgres_admin_url,
            kafka_bootstrap,
            redis_url,
            tmp_path_factory,
            partitions=PARTITIONS,
            extra_env={
                "ITINERA_SHUTDOWN_GRACE_SECONDS": str(GRACE),
                "ITINERA_CONSISTENCY_TIMEOUT": str(CONSISTENCY),
                # Small batches: a backlog takes the relay long enough to be stopped in it.
                "ITINERA_RELAY_BATCH_SIZE": "20",
                "ITINERA_LLM_API_KEY": "",  # the planner's offline scheduler unless a test says
                # The packaged embedding model takes seconds to load in the worker's first
                # batches; what embeds recommendations is not what this module is about.
                "ITINERA_EMBEDDING_MODEL": "hashed",
            },
        ) as stack,
    ):
        yield stack


def terminate(role: Role, within: float) -> int:
    """Send SIGTERM; the exit code, which must come within `within` seconds."""
    assert role.process is not None
    role.check_alive()
    role.process.send_signal(signal.SIGTERM)
    try:
        return role.process.wait(timeout=within)
    except subprocess.TimeoutExpired:
        message = f"{role.name} still runs {within} s after SIGTERM\n{role.tail()}"
        raise AssertionError(message) from None


def troubles_in(role: Role, since: int) -> list[str]:
    """The warnings, errors and tracebacks the role logged past byte `since` of its log."""
    with role.log_path.open("rb") as log:
        log.seek(since)
        lines = log.read().decode(errors="replace").splitlines()
    found = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict):
            level = record.get("level")
        else:
            level = "TRACEBACK" if "Traceback" in line else None
        if level in ("WARNING", "ERROR", "CRITICAL", "TRACEBACK"):
            found.append(line)
    return found


def relaying(relay: Role) -> bool:
    """Whether the relay's newest start or stop line says it relays."""
    said = [
        line
        for line in relay.log_path.read_text(errors="replace").splitlines()
        if "relay starting from position" in line or "relay stopped at position" in line
    ]
    return bool(said) and "relay starting from position" in said[-1]


@contextmanager
def relay_stopped(stack: Stack) -> Iterator[None]:
    """The stack's relay stopped by SIGTERM while idle (it exits 0 at once), and started again
    afterwards: meanwhile nothing new is published, so nothing new is projected."""
    # Signalled while still starting, before it handles signals, it would die of SIGTERM.
    wait_until(lambda: relaying(stack.relay), stack.relay, "the relay's start")
    assert terminate(stack.relay, within=GRACE) == DRAINED, stack.relay.tail()
    try:
        yield
    finally:
        stack.relay.start()


def wait_until(done: Callable[[], bool], role: Role, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        role.check_alive()
        assert time.monotonic() < deadline, f"{what}: not in {timeout} s\n{role.tail()}"
        time.sleep(0.05)


# --- the API ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LaggingTrip:
    """A trip whose newest version is in the event store but not in its view: a read asking
    for that version waits ITINERA_CONSISTENCY_TIMEOUT, then answers the view marked stale."""

    trip_id: str
    owner: dict[str, str]
    version: int

    def read(self, base_url: str) -> httpx.Response:
        return httpx.get(
            f"{base_url}/api/v1/trips/{self.trip_id}",
            params={"min_version": self.version},
            headers=self.owner,
            timeout=30,
        )


@pytest.fixture
def lagging_trip(stack: Stack) -> Iterator[LaggingTrip]:
    with httpx.Client(base_url=stack.base_url, timeout=15) as client:
        owner = signup(client)
        trip_id = trip_with(client, owner)

        def projected() -> bool:
            read = client.get(f"/api/v1/trips/{trip_id}", headers=owner)
            return read.status_code == 200 and not read.json()["meta"]["stale"]

        wait_until(projected, stack.worker, "the new trip's view")
        with relay_stopped(stack):
            renamed = client.patch(
                f"/api/v1/trips/{trip_id}", json={"title": "Renamed"}, headers=owner
            )
            assert renamed.status_code == 200, renamed.text
            yield LaggingTrip(trip_id, owner, renamed.json()["data"]["version"])


def started_api(
    stack: Stack, name: str, env: dict[str, str] | None = None, args: list[str] | None = None
) -> tuple[Role, str]:
    """An `itinera api` of its own over the stack's services (this test stops it)."""
    assert stack.logs is not None
    port = free_port()
    command = ["api", "--port", str(port), *(args or [])]
    api = Role(name, command, {**stack.env, **(env or {})}, stack.logs)
    url = f"http://127.0.0.1:{port}"
    api.start()
    wait_for_http(f"{url}/health", api)
    return api, url


def in_flight(base_url: str) -> float:
    """How many requests the API is answering, this scrape of `/metrics` left out."""
    scraped = httpx.get(f"{base_url}/metrics", timeout=5)
    for family in text_string_to_metric_families(scraped.text):
        if family.name == "itinera_http_requests_in_flight":
            return sum(sample.value for sample in family.samples) - 1
    raise AssertionError("no itinera_http_requests_in_flight in /metrics")


def slow_read(trip: LaggingTrip, base_url: str, api: Role) -> Future[httpx.Response]:
    """The lagging trip's read, sent from another thread; returns once the API is in it."""
    pool = ThreadPoolExecutor(1)
    response = pool.submit(trip.read, base_url)
    pool.shutdown(wait=False)
    wait_until(lambda: in_flight(base_url) >= 1 or response.done(), api, "the slow read")
    assert not response.done(), response.result().text
    return response


def notifications_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/ws/notifications/"


def test_a_stopped_api_answers_its_request_closes_its_sockets_with_1001_and_exits_0(
    stack: Stack, lagging_trip: LaggingTrip
) -> None:
    api, url = started_api(stack, "api-drained")
    trip = lagging_trip
    with (
        open_socket(chat_url(url, trip.trip_id), trip.owner) as chat,
        open_socket(notifications_url(url), trip.owner) as notices,
    ):
        subscribe(chat, trip.trip_id)
        assert next_of(notices, "subscription_success")["unread_count"] >= 0
        answer_of_read = slow_read(trip, url, api)

        assert api.process is not None
        logged = api.log_path.stat().st_size
        api.process.send_signal(signal.SIGTERM)
        assert close_code(chat) == GOING_AWAY
        assert close_code(notices) == GOING_AWAY
        with pytest.raises(httpx.ConnectError):  # no new connection while it drains
            httpx.get(f"{url}/health", timeout=5)
        api.check_alive()  # still answering the read

        read = answer_of_read.result(timeout=CONSISTENCY + GRACE)
    assert read.status_code == 200, read.text
    body = read.json()
    assert body["meta"]["stale"] is True  # the full answer: the view as it is, said stale
    assert body["data"]["version"] == trip.version - 1
    assert api.process.wait(timeout=GRACE + TEARDOWN_SECONDS) == DRAINED, api.tail()
    assert troubles_in(api, since=logged) == []


def test_an_api_with_worker_processes_drains_each_and_exits_0(
    stack: Stack, lagging_trip: LaggingTrip
) -> None:
    # uvicorn's supervisor passes SIGTERM on to each worker, which drains as one API does
    # (its WebSockets, though, are closed by uvicorn itself, with 1012: see the README).
    api, url = started_api(stack, "api-workers", args=["--workers", "2"])
    answer_of_read = slow_read(lagging_trip, url, api)

    assert terminate(api, within=CONSISTENCY + GRACE) == DRAINED, api.tail()
    read = answer_of_read.result(timeout=5)
    assert read.status_code == 200, read.text
    assert read.json()["meta"]["stale"] is True


def test_an_api_whose_request_outlasts_the_grace_cuts_it_short_and_exits_75(
    stack: Stack, lagging_trip: LaggingTrip
) -> None:
    grace = 1.0
    api, url = started_api(
        stack,
        "api-cut-short",
        {"ITINERA_SHUTDOWN_GRACE_SECONDS": str(grace), "ITINERA_CONSISTENCY_TIMEOUT": "10"},
    )
    answer_of_read = slow_read(lagging_trip, url, api)

    assert terminate(api, within=grace + TEARDOWN_SECONDS) == GRACE_EXCEEDED_EXIT_CODE
    # Cancelled before it had started its response, the read is answered 500 by uvicorn.
    assert answer_of_read.result(timeout=5).status_code == 500
    assert "ran out" in api.tail()


# --- the relay ----------------------------------------------------------------------------


def relay_position(database_url: str) -> tuple[LogPosition, LogPosition]:
    """Where the relay's saved position is, and the position of the event store's newest
    event (positions are (transaction id, notification id) pairs)."""
    with psycopg.connect(database_url) as conn:
        saved = conn.execute(
            "SELECT transaction_id, position FROM stream_positions WHERE name = 'relay'"
        ).fetchone()
        newest = conn.execute(
            "SELECT transaction_id::text::bigint, notification_id FROM itinera_events"
            " ORDER BY transaction_id DESC, notification_id DESC LIMIT 1"
        ).fetchone()
    return (
        START if saved is None else LogPosition(*saved),
        START if newest is None else LogPosition(*newest),
    )


def stored_trip_events(
    database_url: str, up_to: LogPosition | None = None
) -> Counter[tuple[str, int]]:
    """(trip, version) of every trip event in the event store (up to a log position)."""
    last = up_to or LogPosition(2**62, 2**62)
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version FROM itinera_events"
            " WHERE topic LIKE 'write_side.trips.trip:Trip.%%'"
            " AND (transaction_id, notification_id) <= (%s::text::xid8, %s)",
            last,
        ).fetchall()
    return Counter((str(trip), int(version)) for trip, version in rows)


def published_trip_events(bootstrap: str) -> Counter[tuple[str, int]]:
    """(trip, version) of every message on the trip events topic, counted."""
    consumer = KafkaConsumer(
        TRIP_EVENTS,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    try:
        events = [parse_trip_event(message.value) for message in consumer]
    finally:
        consumer.close()
    return Counter((str(e.aggregate_id), e.aggregate_version) for e in events)


def test_a_stopped_relay_publishes_its_batch_and_saves_the_position_it_reached(
    stack: Stack,
) -> None:
    with relay_stopped(stack):  # a backlog builds up meanwhile
        burst = Burst(stack.database_url, trips=20, commands=1_000, writers=3)
        try:
            burst.plan()
            burst.run()
        finally:
            burst.close()
        start, head = relay_position(stack.database_url)
    # Started again: stopped while it works through the backlog.
    wait_until(
        lambda: relay_position(stack.database_url)[0] > start, stack.relay, "the relay's start"
    )
    logged = stack.relay.log_path.stat().st_size
    assert terminate(stack.relay, within=GRACE) == DRAINED, stack.relay.tail()
    assert troubles_in(stack.relay, since=logged) == []
    reached, _ = relay_position(stack.database_url)
    assert start < reached < head, "the relay was not stopped in the middle of its backlog"
    # What it published is exactly what its position covers: nothing unrecorded, no repeat.
    published = published_trip_events(stack.kafka)
    assert published == stored_trip_events(stack.database_url, up_to=reached)

    stack.relay.start()
    wait_until(lambda: relay_position(stack.database_url)[0] == head, stack.relay, "the rest of it")
    assert published_trip_events(stack.kafka) == stored_trip_events(stack.database_url)


def test_a_standby_relay_stops_at_once_and_the_active_one_relays_on(stack: Stack) -> None:
    assert stack.logs is not None
    wait_until(lambda: relaying(stack.relay), stack.relay, "the active relay's start")
    standby = Role("relay-standby", ["relay"], stack.env, stack.logs).start()
    wait_until(lambda: "standing by" in standby.tail(), standby, "the standby's wait")

    assert terminate(standby, within=GRACE) == DRAINED, standby.tail()
    stack.relay.check_alive()
    with httpx.Client(base_url=stack.base_url, timeout=15) as client:
        trip_with(client, signup(client))
    _, head = relay_position(stack.database_url)
    wait_until(
        lambda: relay_position(stack.database_url)[0] == head, stack.relay, "the next events"
    )


# --- the Faust worker ---------------------------------------------------------------------


def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[str, int]:
    """The consumer group's committed offset on each partition of the topic (lane names)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or ())
        found = {p: consumer.committed(TopicPartition(topic, p)) for p in partitions}
    finally:
        consumer.close()
    return {f"{topic}/{p}": offset for p, offset in found.items() if offset is not None}


def applied_by_all(database_url: str, topic: str) -> dict[str, int]:
    """On each lane of the topic, the next offset every projection reading it has applied
    (each records the offsets it applied in the transaction that applies them)."""
    readers = [p.name for p in PROJECTIONS if topic in p.topics]
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT lane, min(applied_offset) + 1, count(*) FROM projection_lanes"
            " WHERE projection = ANY(%s) AND lane LIKE %s GROUP BY lane",
            (readers, f"{topic}/%"),
        ).fetchall()
    return {str(lane): int(offset) for lane, offset, count in rows if count == len(readers)}


def test_a_stopped_worker_finishes_its_batches_commits_them_and_loses_nothing(
    stack: Stack,
) -> None:
    worker = stack.worker
    burst = Burst(stack.database_url, trips=20, commands=1_200, writers=3)
    pool = ThreadPoolExecutor(1)
    try:
        burst.plan()
        wait_until_projected(stack.database_url, worker.check_alive, timeout=120)  # it runs
        writing = pool.submit(burst.run)
        wait_until(lambda: burst.sent >= 400, worker, "the burst's first commands")
        assert trips_behind(stack.database_url) > 0, "the worker was not stopped mid-stream"

        logged = worker.log_path.stat().st_size
        assert terminate(worker, within=GRACE + TEARDOWN_SECONDS) == DRAINED, worker.tail(200)
        # The batches being applied finished: nothing failed under them as the worker closed.
        assert troubles_in(worker, since=logged) == []
        # The offsets committed are exactly those every projection applied: each batch
        # applied was acknowledged and committed, none acknowledged unapplied.
        committed = committed_offsets(stack.kafka, stack.env["ITINERA_WORKER_APP_ID"], TRIP_EVENTS)
        assert committed, "nothing was committed"
        assert committed == applied_by_all(stack.database_url, TRIP_EVENTS)

        worker.start()
        writing.result(timeout=120)
        wait_until_projected(stack.database_url, worker.check_alive, timeout=120)
    finally:
        pool.shutdown()
        burst.close()
    assert_equals_a_rebuild(stack.database_url, lambda: run_once(["rebuild", "--all"], stack.env))


# --- the planner --------------------------------------------------------------------------


def test_a_stopped_planner_finishes_its_job_and_commits_it(stack: Stack) -> None:
    with FakeOpenAI.start() as fake, httpx.Client(base_url=stack.base_url, timeout=10) as client:
        group = f"itinera-planner-drain-{uuid4().hex[:8]}"
        planner = stack.replace_planner(
            "planner-drained",
            {
                "ITINERA_LLM_BASE_URL": fake.base_url,
                "ITINERA_LLM_API_KEY": "test-key",
                "ITINERA_LLM_MODEL": "fake-model",
                "ITINERA_LLM_MAX_RETRIES": "0",
                "ITINERA_PLANNER_GROUP_ID": group,
            },
        )
        owner = planner_user(client)
        trip_id, lisbon = lisbon_trip(client, owner)
        fake.script(slow(MODEL_SECONDS, answer(llm_draft(lisbon))))
        draft_id, url = ask(client, trip_id, owner, {"interests": ["design"]})
        wait_until(lambda: len(fake.requests) == 1, planner, "the planner's call to the model")

        logged = planner.log_path.stat().st_size
        assert terminate(planner, within=GRACE + TEARDOWN_SECONDS) == DRAINED, planner.tail()
        assert troubles_in(planner, since=logged) == []
        stack.planner = None  # stopped for good
        view = finished(stack, client, url, owner)
        assert (view["status"], view["attempts"]) == ("ready", 1), view
        lane, offset = request_of(stack.kafka, draft_id)
        assert committed_offsets(stack.kafka, group, PLANNER_EVENTS)[lane] > offset
        assert len(fake.requests) == 1


def request_of(bootstrap: str, draft_id: str) -> tuple[str, int]:
    """The lane and offset of the message asking for the draft."""
    consumer = KafkaConsumer(
        PLANNER_EVENTS,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    try:
        for message in consumer:
            event = parse_planner_event(message.value)
            if isinstance(event, ItineraryDraftRequested) and str(event.aggregate_id) == draft_id:
                return f"{message.topic}/{message.partition}", message.offset
    finally:
        consumer.close()
    raise AssertionError(f"no request for draft {draft_id} on {PLANNER_EVENTS}")
