"""api + relay + Faust worker as separate processes over a real PostgreSQL and Tansu."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
from kafka import KafkaConsumer, TopicPartition

from streams.contracts import parse_trip_event
from streams.position import START, LogPosition
from streams.topics import TRIP_EVENTS, USER_EVENTS
from streams.user_contracts import parse_user_event
from tests.e2e.processes import signup
from tests.e2e.stack import Stack, distributed_stack

PARTITIONS = 4
TRIP = {"title": "Japan", "start_date": "2027-04-01", "end_date": "2027-04-20"}


@pytest.fixture(scope="module")
def stack(
    postgres_admin_url: str, kafka_bootstrap: str, redis_url: str, tmp_path_factory
) -> Iterator[Stack]:
    with distributed_stack(
        postgres_admin_url, kafka_bootstrap, redis_url, tmp_path_factory, partitions=PARTITIONS
    ) as stack:
        yield stack


def users(stack: Stack, count: int) -> list[dict[str, str]]:
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        return [signup(client) for _ in range(count)]


def command(
    client: httpx.Client, method: str, path: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    response = client.request(method, path, json=body or None, headers=headers)
    assert response.status_code in (200, 201), response.text
    return dict(response.json()["data"])


def visible(
    stack: Stack,
    client: httpx.Client,
    trip_id: str,
    version: int,
    headers: dict[str, str],
    timeout: float = 60,
) -> dict[str, Any]:
    """The trip view once it reaches `version` (the Faust worker may still be joining)."""
    deadline = time.monotonic() + timeout
    while True:
        for role in stack.roles():
            role.check_alive()
        response = client.get(
            f"/api/v1/trips/{trip_id}", params={"min_version": version}, headers=headers
        )
        if response.status_code == 200 and not response.json()["meta"]["stale"]:
            return dict(response.json()["data"])
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {r.name}\n{r.tail()}" for r in stack.roles())
            raise AssertionError(f"trip {trip_id} v{version} never became visible\n{tails}")


def test_a_command_becomes_visible_through_get_with_min_version(stack: Stack) -> None:
    (me,) = users(stack, 1)
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        trip = command(client, "POST", "/api/v1/trips", TRIP, me)
        visible(stack, client, trip["id"], 1, me)  # the worker has joined its group
        renamed = command(
            client, "PATCH", f"/api/v1/trips/{trip['id']}", {"title": "Japan in spring"}, me
        )
        response = client.get(
            f"/api/v1/trips/{trip['id']}", params={"min_version": renamed["version"]}, headers=me
        )
    assert response.status_code == 200
    assert response.json()["meta"]["stale"] is False
    assert response.json()["data"]["title"] == "Japan in spring"
    assert response.headers["etag"] == f'"{renamed["version"]}"'


def read_topic(bootstrap: str, topic: str = TRIP_EVENTS) -> list[tuple[int, int, Any]]:
    """Every message of the topic: (partition, offset, parsed event)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=3000,
    )
    partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    parse = parse_trip_event if topic == TRIP_EVENTS else parse_user_event
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    ends = consumer.end_offsets(partitions)
    messages = []
    try:
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            for tp, records in consumer.poll(timeout_ms=1000).items():
                for record in records:
                    event = parse(record.value)
                    assert record.key == str(event.aggregate_id).encode()
                    messages.append((tp.partition, record.offset, event))
    finally:
        consumer.close()
    return messages


def test_a_plain_consumer_finds_each_trips_events_in_one_partition_in_order(stack: Stack) -> None:
    owners = users(stack, 6)
    expected: dict[str, int] = {}
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        for me in owners:
            trip = command(client, "POST", "/api/v1/trips", TRIP, me)
            for n in range(4):
                last = command(
                    client, "PATCH", f"/api/v1/trips/{trip['id']}", {"title": f"rev {n}"}, me
                )
            expected[trip["id"]] = last["version"]
        for me, (trip_id, version) in zip(owners, expected.items(), strict=True):
            visible(stack, client, trip_id, version, me)  # the relay has published them all

    by_trip: dict[str, list[tuple[int, int, int]]] = {}
    for partition, offset, event in read_topic(stack.kafka):
        by_trip.setdefault(str(event.aggregate_id), []).append(
            (partition, offset, event.aggregate_version)
        )
    for trip_id, version in expected.items():
        records = sorted(by_trip[trip_id], key=lambda r: r[1])
        assert len({partition for partition, _, _ in records}) == 1
        versions = [v for _, _, v in records]
        assert versions == sorted(versions)
        assert set(versions) == set(range(1, version + 1))
    used = {records[0][0] for records in by_trip.values()}
    assert len(used) > 1, "all trips landed on one partition: keys are not spreading"


def relay_position(database_url: str) -> LogPosition:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT transaction_id, position FROM stream_positions WHERE name = 'relay'"
        ).fetchone()
    return START if row is None else LogPosition(*row)


def test_a_relay_killed_mid_burst_loses_nothing_and_applies_nothing_twice(stack: Stack) -> None:
    trips = 30
    stops_per_trip = 5
    owners = users(stack, trips)
    start_position = relay_position(stack.database_url)

    def burst(me: dict[str, str]) -> tuple[str, int]:
        with httpx.Client(base_url=stack.base_url, timeout=30) as client:
            trip = command(client, "POST", "/api/v1/trips", TRIP, me)
            version = trip["version"]
            for n in range(stops_per_trip):
                added = command(
                    client,
                    "POST",
                    "/api/v1/destinations",
                    {
                        "trip_id": trip["id"],
                        "name": f"Stop {n}",
                        "location": {"lat": 35.0, "lng": 135.0},
                        "arrival_date": "2027-04-02",
                        "departure_date": "2027-04-03",
                    },
                    me,
                )
                version = added["version"]
            return trip["id"], version

    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(burst, me) for me in owners]
        deadline = time.monotonic() + 30
        while relay_position(stack.database_url) <= start_position:
            assert time.monotonic() < deadline, stack.relay.tail()
            time.sleep(0.005)
        stack.relay.kill()
        killed_at = relay_position(stack.database_url)
        still_running = sum(not f.done() for f in futures)
        time.sleep(0.3)  # commands keep arriving while no relay runs
        stack.relay.start()
        results = [f.result() for f in futures]
    assert still_running > 0, "the burst ended before the relay was killed"

    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        for me, (trip_id, version) in zip(owners, results, strict=True):
            view = visible(stack, client, trip_id, version, me)
            assert view["version"] == version == 1 + stops_per_trip
            names = [d["name"] for d in view["destinations"]]
            assert names == [f"Stop {n}" for n in range(stops_per_trip)]  # none twice, none lost
    assert relay_position(stack.database_url) > killed_at


def test_a_registered_user_reaches_the_directory_through_user_events(stack: Stack) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        me = signup(client)
        profile = client.get("/api/v1/users/me", headers=me).json()["data"]
        deadline = time.monotonic() + 60
        while True:
            found = client.get(
                "/api/v1/users/search", params={"q": profile["username"]}, headers=me
            )
            assert found.status_code == 200, found.text
            if found.json()["data"]:
                break
            for role in stack.roles():
                role.check_alive()
            assert time.monotonic() < deadline, stack.worker.tail()
            time.sleep(0.05)
    (entry,) = found.json()["data"]
    assert entry["id"] == profile["id"]
    assert "email" not in entry

    # Registered, then (from the worker's account mail effect, once it mailed the link) the
    # verification issued: in that order, each once, with no hash, token or address.
    deadline = time.monotonic() + 60
    while True:
        records = [event for _, _, event in read_topic(stack.kafka, USER_EVENTS)]
        mine = [e for e in records if str(e.aggregate_id) == profile["id"]]
        if len(mine) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [e.event_type for e in mine] == ["UserRegistered", "UserEmailVerificationIssued"]
    for event in mine:
        published = event.model_dump_json()
        assert "argon2" not in published and profile["email"] not in published


def test_planning_together_flows_through_kafka_to_the_read_model(stack: Stack) -> None:
    owner, friend = users(stack, 2)
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        friend_id = client.get("/api/v1/users/me", headers=friend).json()["data"]["id"]
        trip = command(client, "POST", "/api/v1/trips", TRIP, owner)
        stops = [
            command(
                client,
                "POST",
                "/api/v1/destinations",
                {
                    "trip_id": trip["id"],
                    "name": name,
                    "location": {"lat": 35.0, "lng": 135.0},
                    "arrival_date": "2027-04-02",
                    "departure_date": "2027-04-05",
                },
                owner,
            )
            for name in ("Kyoto", "Osaka")
        ]
        command(
            client,
            "PUT",
            f"/api/v1/destinations/{stops[1]['id']}/reorder",
            {"after_id": None},
            owner,
        )
        activity = command(
            client,
            "POST",
            "/api/v1/activities",
            {
                "destination_id": stops[0]["id"],
                "title": "Temple",
                "start": {"local": "2027-04-03T09:00", "time_zone": "Asia/Tokyo"},
                "cost": "500",
                "currency": "JPY",
            },
            owner,
        )
        command(
            client,
            "POST",
            f"/api/v1/trips/{trip['id']}/members",
            {"user_id": friend_id, "role": "editor"},
            owner,
        )
        command(
            client,
            "PATCH",
            f"/api/v1/activities/{activity['id']}",
            {"cost": "700", "currency": "JPY"},
            friend,
        )
        archived = command(client, "DELETE", f"/api/v1/trips/{trip['id']}", {}, owner)
        gone = client.get(
            f"/api/v1/trips/{trip['id']}",
            params={"min_version": archived["version"]},
            headers=owner,
        )
        assert gone.status_code == 404  # archived: out of every query once projected
        restored = command(client, "POST", f"/api/v1/trips/{trip['id']}/restore", {}, owner)
        view = visible(stack, client, trip["id"], restored["version"], friend)
    assert [d["name"] for d in view["destinations"]] == ["Osaka", "Kyoto"]
    assert {m["user_id"]: m["role"] for m in view["members"]}[friend_id] == "editor"
    assert view["totals"] == {"JPY": "700"}
    temple = view["destinations"][1]["activities"][0]
    assert temple["start"]["utc"].startswith("2027-04-03T00:00")
