"""Chat and notifications between real processes: two `itinera api` sharing Redis, relay,
Faust worker, Tansu, PostgreSQL; real WebSocket clients. A message posted on one instance
reaches sockets on the other, in room order; a notification made by the worker reaches the
user's socket wherever it is."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from kafka import KafkaConsumer, TopicPartition

from streams.chat_contracts import parse_chat_event
from streams.topics import CHAT_EVENTS
from tests.e2e.chat_client import (
    announced,
    chat_url,
    close_code,
    me,
    next_of,
    open_socket,
    subscribe,
    the_seeds_flow,
    trip_with,
)
from tests.e2e.processes import signup
from tests.e2e.stack import Stack, distributed_stack

PARTITIONS = 4  # the broker is shared by the session: every module creates the same


@pytest.fixture(scope="module")
def stack(
    postgres_admin_url: str, kafka_bootstrap: str, redis_url: str, tmp_path_factory
) -> Iterator[Stack]:
    with distributed_stack(
        postgres_admin_url,
        kafka_bootstrap,
        redis_url,
        tmp_path_factory,
        partitions=PARTITIONS,
        apis=2,
        extra_env={"ITINERA_WS_RECHECK_SECONDS": "0.5"},
    ) as stack:
        yield stack


@pytest.fixture
def client(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=15) as client:
        yield client


def test_the_seeds_flow_over_real_sockets(stack: Stack, client: httpx.Client) -> None:
    the_seeds_flow(stack.base_urls[1], client, signup(client), signup(client))


def test_messages_posted_on_one_instance_reach_the_other_in_room_order(
    stack: Stack, client: httpx.Client
) -> None:
    ada, bob = signup(client), signup(client)
    trip_id = trip_with(client, ada, me(client, bob))
    # Bob's joining is announced by a process manager after the fact: wait for it, so that
    # it is in the room's history (seq 1) rather than racing the subscriptions.
    announced(client, ada, trip_id, count=1)
    first, second = stack.base_urls
    with (
        open_socket(chat_url(first, trip_id), ada) as on_first,
        open_socket(chat_url(second, trip_id), bob) as on_second,
    ):
        subscribe(on_first, trip_id)
        subscribe(on_second, trip_id)
        for n in range(20):
            on_first.send(json.dumps({"type": "chat_message", "content": f"ws {n}"}))
            if n % 4 == 0:  # the REST fallback, on the other instance
                posted = httpx.post(
                    f"{second}/api/v1/chat/rooms/{trip_id}/messages/",
                    json={"content": f"rest {n}"},
                    headers=bob,
                    timeout=15,
                )
                assert posted.status_code == 201, posted.text
        for socket in (on_first, on_second):
            got = [next_of(socket, "chat_message")["message"] for _ in range(25)]
            seqs = [m["seq"] for m in got if m["message_type"] != "system"]
            assert seqs == sorted(seqs) and len(set(seqs)) == 25, seqs
            contents = [m["content"] for m in got if m["message_type"] == "text"]
            assert [c for c in contents if c.startswith("ws")] == [f"ws {n}" for n in range(20)]
    history = client.get(f"/api/v1/chat/rooms/{trip_id}/messages/", headers=ada).json()
    assert [m["seq"] for m in history["data"]] == list(range(1, 27))  # 1: bob joined


def test_a_client_reconnecting_to_the_other_instance_gets_exactly_the_gap(
    stack: Stack, client: httpx.Client
) -> None:
    ada, bob = signup(client), signup(client)
    trip_id = trip_with(client, ada, me(client, bob))
    first, second = stack.base_urls
    with open_socket(chat_url(first, trip_id), bob) as socket:
        recent = subscribe(socket, trip_id)["recent_messages"]
    seen = recent[-1]["seq"] if recent else 0
    for n in range(3):
        posted = httpx.post(
            f"{first}/api/v1/chat/rooms/{trip_id}/messages/",
            json={"content": f"missed {n}"},
            headers=ada,
            timeout=15,
        )
        assert posted.status_code == 201, posted.text
    with open_socket(chat_url(second, trip_id), bob) as socket:
        gap = subscribe(socket, trip_id, after=seen)["recent_messages"]
    assert [m["content"] for m in gap if m["message_type"] == "text"] == [
        "missed 0",
        "missed 1",
        "missed 2",
    ]
    assert [m["seq"] for m in gap] == list(range(seen + 1, seen + 1 + len(gap)))


def test_a_member_removed_on_one_instance_is_disconnected_from_the_other(
    stack: Stack, client: httpx.Client
) -> None:
    ada, bob = signup(client), signup(client)
    bob_id = me(client, bob)
    trip_id = trip_with(client, ada, bob_id)
    with open_socket(chat_url(stack.base_urls[1], trip_id), bob) as socket:
        subscribe(socket, trip_id)
        removed = client.delete(f"/api/v1/trips/{trip_id}/members/{bob_id}/", headers=ada)
        assert removed.status_code == 200, removed.text
        started = time.monotonic()
        assert close_code(socket) == 4003
        assert time.monotonic() - started < 5


def test_chat_events_are_on_their_topic_keyed_by_trip_in_room_order(
    stack: Stack, client: httpx.Client
) -> None:
    ada = signup(client)
    trip_id = trip_with(client, ada)
    for n in range(5):
        posted = client.post(
            f"/api/v1/chat/rooms/{trip_id}/messages/", json={"content": f"{n}"}, headers=ada
        )
        assert posted.status_code == 201, posted.text
    consumer = KafkaConsumer(bootstrap_servers=stack.kafka, consumer_timeout_ms=3000)
    partitions = [TopicPartition(CHAT_EVENTS, p) for p in range(PARTITIONS)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    deadline, mine = time.monotonic() + 30, []
    while len(mine) < 5 and time.monotonic() < deadline:
        for record in consumer:
            event = parse_chat_event(record.value)
            if str(event.partition_key()) == trip_id:
                assert record.key == trip_id.encode()
                mine.append((record.partition, event))
    consumer.close()
    assert len({partition for partition, _ in mine}) == 1
    assert [e.payload.seq for _, e in mine] == [1, 2, 3, 4, 5]  # type: ignore[union-attr]


def test_a_notification_made_by_the_worker_is_pushed_to_a_socket_on_another_instance(
    stack: Stack, client: httpx.Client
) -> None:
    ada, bob = signup(client), signup(client)
    bob_id = me(client, bob)
    url = stack.base_urls[1].replace("http://", "ws://", 1) + "/ws/notifications/"
    with open_socket(url, bob) as socket:
        assert json.loads(socket.recv(timeout=15)) == {
            "type": "subscription_success",
            "unread_count": 0,
        }
        trip_id = trip_with(client, ada, bob_id)  # on the first instance
        while (pushed := json.loads(socket.recv(timeout=30)))["type"] == "sync_poke":
            assert pushed["trip_id"] == trip_id  # the trip's sync feed changed too
    assert pushed["type"] == "notification" and pushed["unread_count"] == 1
    assert (pushed["notification"]["type"], pushed["notification"]["related_trip"]) == (
        "trip_invite",
        trip_id,
    )
    listed = client.get("/api/v1/notifications/", headers=bob).json()
    assert [n["id"] for n in listed["data"]] == [pushed["notification"]["id"]]
