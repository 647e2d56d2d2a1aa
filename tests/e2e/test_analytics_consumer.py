"""An analytics team's consumer against the distributed stack as real processes, on a broker
of its own: `examples/analytics_consumer.py` (no Itinera code: kafka-python, jsonschema and
the published `docs/contracts`) reports from `analytics-events` exactly what the operators'
overview shows, finds every message of every topic true to its published contract, and a
request's `traceparent` reaches its events' Kafka headers."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from tests.e2e.processes import run_once, signup
from tests.e2e.stack import Stack, distributed_stack
from tests.services import tansu_broker

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CONTRACTS = ROOT / "docs" / "contracts"
WAIT = 45.0

TRIP = {"title": "Japan, then Portugal", "start_date": "2027-04-01", "end_date": "2027-04-20"}
KYOTO = {
    "name": "Kyoto",
    "location": {"lat": 35.0, "lng": 135.7},
    "arrival_date": "2027-04-02",
    "departure_date": "2027-04-06",
}
LISBON = {
    "name": "Lisbon",
    "location": {"lat": 38.7, "lng": -9.1},
    "arrival_date": "2027-04-10",
    "departure_date": "2027-04-14",
}


def _at(day: str, hours: tuple[str, str], zone: str) -> dict[str, Any]:
    start, end = hours
    return {
        "start": {"local": f"{day}T{start}", "time_zone": zone},
        "end": {"local": f"{day}T{end}", "time_zone": zone},
    }


DINNER = {"title": "Kaiseki", "activity_type": "restaurant", "cost": "12000", "currency": "JPY"}
TEMPLE = {"title": "Fushimi Inari", "activity_type": "sightseeing", "cost": "12.50"}
TRAM = {"title": "Tram 28", "activity_type": "transport", "cost": "3.00", "currency": "EUR"}
MUSEUM = {"title": "Azulejo museum", "activity_type": "sightseeing", "cost": "15"}
FADO = {"title": "Fado", "activity_type": "restaurant", "cost": "30", "currency": "USD"}

# What the burst below adds up to (metric → dimension → amount), worked out by hand. Spend
# is net per currency: DINNER 12000 then revised to 15000 JPY; TEMPLE 12.50 EUR; TRAM 3 EUR
# revised to 4 USD; MUSEUM 15 EUR, dropped; FADO 30 USD.
EXPECTED = {
    "trips_created": {"": Decimal(2)},
    "trips_completed": {"": Decimal(1)},
    "destinations_added": {"JP": Decimal(1), "PT": Decimal(2)},
    "activities_planned": {
        "restaurant": Decimal(2),
        "sightseeing": Decimal(2),
        "transport": Decimal(1),
    },
    "activities_dropped": {"sightseeing": Decimal(1)},
    "spend": {"JPY": Decimal(15000), "EUR": Decimal("12.50"), "USD": Decimal(34)},
    "members_joined": {"editor": Decimal(1), "viewer": Decimal(1)},
    # Two posted by people, and the chat announced each member who joined.
    "messages_posted": {"text": Decimal(2), "system": Decimal(2)},
}


@dataclass(frozen=True)
class Burst:
    operator: dict[str, str]
    traceparent: str
    correlation_id: str  # of the request that sent the traceparent


@pytest.fixture(scope="module")
def stack(postgres_admin_url: str, redis_url: str, tmp_path_factory: Any) -> Iterator[Stack]:
    # A broker of its own: on the session's, `analytics-events` holds other tests' facts.
    with (
        tansu_broker() as bootstrap,
        distributed_stack(postgres_admin_url, bootstrap, redis_url, tmp_path_factory) as stack,
    ):
        yield stack


@pytest.fixture(scope="module")
def burst(stack: Stack) -> Burst:
    """Two trips planned by three people through the API, one completed; the overview shows
    all of it when this returns."""
    with httpx.Client(base_url=stack.base_url, timeout=15) as client:
        ada, bob, cy = signup(client), signup(client), signup(client)

        def send(user: dict[str, str], method: str, path: str, body: Any = None) -> Any:
            response = client.request(method, path, json=body, headers=user)
            assert response.status_code in (200, 201), f"{method} {path}: {response.text}"
            return response.json()["data"]

        trip = send(ada, "POST", "/api/v1/trips", TRIP)["id"]
        kyoto = send(ada, "POST", "/api/v1/destinations", {**KYOTO, "trip_id": trip})["id"]
        lisbon = send(ada, "POST", "/api/v1/destinations", {**LISBON, "trip_id": trip})["id"]
        in_kyoto = {"destination_id": kyoto, "currency": "EUR"}
        in_lisbon = {"destination_id": lisbon, "currency": "EUR"}
        evening = _at("2027-04-03", ("19:00", "21:30"), "Asia/Tokyo")
        morning = _at("2027-04-03", ("09:00", "11:00"), "Asia/Tokyo")
        lisbon_day = _at("2027-04-11", ("10:00", "12:00"), "Europe/Lisbon")
        plan = [(DINNER, in_kyoto, evening), (TEMPLE, in_kyoto, morning)]
        plan += [(TRAM, in_lisbon, lisbon_day), (MUSEUM, in_lisbon, lisbon_day)]
        dinner, _, tram, museum = (
            send(ada, "POST", "/api/v1/activities", {**where, **what, **when})["id"]
            for what, where, when in plan
        )
        send(ada, "PATCH", f"/api/v1/activities/{dinner}", {"cost": "15000"})
        send(ada, "PATCH", f"/api/v1/activities/{tram}", {"cost": "4", "currency": "USD"})
        send(ada, "DELETE", f"/api/v1/activities/{museum}")
        for user, role in ((bob, "editor"), (cy, "viewer")):
            body = {"user_id": _me(client, user), "role": role}
            send(ada, "POST", f"/api/v1/trips/{trip}/members", body)
        for user, text in ((bob, "Booked the kaiseki!"), (ada, "Tram tickets next")):
            send(user, "POST", f"/api/v1/chat/rooms/{trip}/messages", {"content": text})
        for status in ("planned", "active", "completed"):
            send(ada, "PATCH", f"/api/v1/trips/{trip}", {"status": status})

        traceparent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
        created = client.post(
            "/api/v1/trips", json=TRIP, headers={**bob, "traceparent": traceparent}
        )
        assert created.status_code == 201, created.text
        second = created.json()["data"]["id"]
        port = send(bob, "POST", "/api/v1/destinations", {**LISBON, "trip_id": second})["id"]
        send(bob, "POST", "/api/v1/activities", {**FADO, "destination_id": port, **lisbon_day})

        username = send(ada, "GET", "/api/v1/users/me")["username"]
        run_once(["users", "grant-admin", f"{username}@example.org"], stack.api.env)
        _until(
            stack,
            lambda: _overview(client, ada),
            lambda found: _nonzero(found["totals"]) == _nonzero(EXPECTED),
        )
    return Burst(ada, traceparent, created.headers["X-Correlation-Id"])


def test_the_consumers_report_equals_the_operators_overview(stack: Stack, burst: Burst) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=15) as client:
        overview = _overview(client, burst.operator)
    report = _consumer("report", "--idle", "3", kafka=stack.kafka)

    assert report["invalid"] == {"count": 0, "first": []}
    assert report["not_aggregated"] == {}
    assert report["facts"] == report["messages"] - report["duplicates"] > 0
    shown = {
        d["day"]: (d["active_trips"], d["active_users"], _nonzero(d["figures"]))
        for d in overview["days"]
    }
    reported = {
        day: (d["active_trips"], d["active_users"], _as_figures(d))
        for day, d in report["days"].items()
    }
    assert reported == shown, json.dumps({"report": report, "overview": overview}, indent=1)
    assert report["top_destinations"] == [
        {"country": "PT", "count": 2},
        {"country": "JP", "count": 1},
    ]


def test_every_message_on_every_topic_keeps_its_published_contract(
    stack: Stack, burst: Burst
) -> None:
    summary = _consumer("validate", kafka=stack.kafka)

    assert summary["invalid"] == {"count": 0, "first": []}
    topics = summary["topics"]
    assert set(topics) == {
        "trip-events",
        "user-events",
        "chat-events",
        "planner-events",
        "analytics-events",
        "system-notifications",
    }
    for topic in ("trip-events", "user-events", "chat-events", "analytics-events"):
        assert topics[topic]["messages"] > 0, topic
    seen = {name for t in topics.values() for name in t["by_type"]}
    assert {
        "TripCreated v1",
        "ActivityUpdated v1",
        "ActivityRemoved v1",
        "TripStatusChanged v1",
        "MemberAdded v1",
        "UserRegistered v1",
        "UserAdminGranted v1",
        "ChatMessagePosted v1",
        "ActivityRevisedFact v1",
        "ActivityDroppedFact v1",
        "TripCompletedFact v1",
        "MessagePostedFact v1",
    } <= seen, seen


def test_a_requests_traceparent_reaches_its_events_headers(stack: Stack, burst: Burst) -> None:
    headers = [dict(r.headers) for r in _messages(stack.kafka, "trip-events")]
    mine = [h for h in headers if h["correlation_id"].decode() == burst.correlation_id]

    assert [h["event_type"] for h in mine] == [b"TripCreated"], headers
    assert mine[0]["traceparent"] == burst.traceparent.encode()
    assert all("traceparent" not in h for h in headers if h not in mine)


def test_the_consumer_needs_no_itinera_code() -> None:
    allowed = {*sys.stdlib_module_names, "kafka", "jsonschema", "published_contracts"}
    for path in EXAMPLES.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or "."]
            else:
                continue
            assert {m.split(".")[0] for m in modules} <= allowed, (path.name, modules)


def _consumer(*args: str, kafka: str) -> Any:
    """Run the example consumer as its own process; its JSON output, which must say all
    is well (exit 0)."""
    done = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "analytics_consumer.py"),
            "--bootstrap",
            kafka,
            "--contracts",
            str(CONTRACTS),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    assert done.returncode == 0, output
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise AssertionError(output) from None


def _messages(bootstrap: str, topic: str) -> list[ConsumerRecord]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        found: list[ConsumerRecord] = []
        deadline = time.monotonic() + WAIT
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            assert time.monotonic() < deadline, f"{topic} not read to its end"
            for records in consumer.poll(timeout_ms=500).values():
                found.extend(records)
        return found
    finally:
        consumer.close()


def _me(client: httpx.Client, user: dict[str, str]) -> str:
    return str(client.get("/api/v1/users/me", headers=user).json()["data"]["id"])


def _overview(client: httpx.Client, operator: dict[str, str]) -> Any:
    response = client.get("/api/v1/analytics/overview/", headers=operator)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _until(stack: Stack, read: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    deadline = time.monotonic() + WAIT
    while not done(found := read()):
        for role in stack.roles():
            role.check_alive()
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {r.name}\n{r.tail()}" for r in stack.roles())
            raise AssertionError(f"not reached in {WAIT} s: {found}\n{tails}")
        time.sleep(0.2)
    return found


def _nonzero(figures: dict[str, dict[str, Any]]) -> dict[str, dict[str, Decimal]]:
    """metric → dimension → amount, as Decimals; an amount of zero is no amount."""
    kept = {
        metric: {dimension: Decimal(str(a)) for dimension, a in amounts.items() if Decimal(str(a))}
        for metric, amounts in figures.items()
    }
    return {metric: amounts for metric, amounts in kept.items() if amounts}


def _as_figures(day: dict[str, Any]) -> dict[str, dict[str, Decimal]]:
    """A day of the consumer's report in the overview's shape."""
    keyed = ("destinations_added", "activities_planned", "activities_dropped", "spend")
    return _nonzero(
        {
            "trips_created": {"": day["trips_created"]},
            "trips_completed": {"": day["trips_completed"]},
            **{metric: day[metric] for metric in (*keyed, "members_joined", "messages_posted")},
        }
    )
