"""Offline sync in distributed mode, between real processes: two `itinera api`, relay, Faust
worker, Tansu, PostgreSQL, Redis. A change pushed on one instance reaches, through the
relay, Kafka and the worker's sync feed projection, a pull and a poke on the other."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.chat_client import me, open_socket
from tests.e2e.processes import signup
from tests.e2e.stack import Stack, distributed_stack

PARTITIONS = 4  # the broker is shared by the session: every module creates the same
WAIT = 30.0


@pytest.fixture(scope="module")
def stack(
    postgres_admin_url: str, kafka_bootstrap: str, redis_url: str, tmp_path_factory: Any
) -> Iterator[Stack]:
    with distributed_stack(
        postgres_admin_url, kafka_bootstrap, redis_url, tmp_path_factory, apis=2
    ) as stack:
        yield stack


@pytest.fixture
def clients(stack: Stack) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    with (
        httpx.Client(base_url=stack.base_urls[0], timeout=15) as first,
        httpx.Client(base_url=stack.base_urls[1], timeout=15) as second,
    ):
        yield first, second


def push(client: httpx.Client, user: dict[str, str], *changes: dict[str, Any]) -> list[Any]:
    response = client.post(
        "/api/v1/sync/push", json={"client_id": "phone", "changes": list(changes)}, headers=user
    )
    assert response.status_code == 200, response.text
    results: list[Any] = response.json()["data"]["results"]
    assert all(r["status"] == "applied" for r in results), results
    return results


def pull(client: httpx.Client, user: dict[str, str], **params: Any) -> Any:
    response = client.get("/api/v1/sync/pull", params=params, headers=user)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def until(read: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    deadline = time.monotonic() + WAIT
    while not done(found := read()):
        assert time.monotonic() < deadline, found
        time.sleep(0.05)
    return found


def test_a_push_on_one_instance_reaches_a_pull_and_a_poke_on_the_other(
    stack: Stack, clients: tuple[httpx.Client, httpx.Client]
) -> None:
    first, second = clients
    ada, bob = signup(first), signup(first)
    trip_id, destination_id = str(uuid.uuid4()), str(uuid.uuid4())
    push(
        first,
        ada,
        {
            "entity_type": "trip",
            "entity_id": trip_id,
            "action": "create",
            "mutation_id": "1",
            "data": {"title": "Lisbon", "start_date": "2027-04-01", "end_date": "2027-04-10"},
        },
        {
            "entity_type": "destination",
            "entity_id": destination_id,
            "action": "create",
            "mutation_id": "2",
            "data": {
                "trip_id": trip_id,
                "name": "Alfama",
                "location": {"lat": 38.71, "lng": -9.13},
                "arrival_date": "2027-04-01",
                "departure_date": "2027-04-03",
            },
        },
    )
    added = first.post(
        f"/api/v1/trips/{trip_id}/members",
        json={"user_id": me(first, bob), "role": "editor"},
        headers=ada,
    )
    assert added.status_code == 201, added.text
    joined = until(lambda: pull(second, bob), lambda page: page["destinations"])
    assert [d["id"] for d in joined["destinations"]] == [destination_id]
    url = stack.base_urls[1].replace("http://", "ws://", 1) + "/ws/notifications/"
    with open_socket(url, bob) as socket:
        assert json.loads(socket.recv(timeout=WAIT))["type"] == "subscription_success"
        push(
            first,
            ada,
            {
                "entity_type": "destination",
                "entity_id": destination_id,
                "action": "update",
                "mutation_id": "3",
                "data": {"name": "Belém"},
            },
        )
        while (message := json.loads(socket.recv(timeout=WAIT)))["type"] != "sync_poke":
            assert message["type"] == "notification", message
    assert message == {"type": "sync_poke", "trip_id": trip_id}
    changed = pull(second, bob, cursor=joined["cursor"])  # poked after the feed committed
    assert [(d["id"], d["name"]) for d in changed["destinations"]] == [(destination_id, "Belém")]
    mine = until(
        lambda: pull(second, ada, client_id="phone"), lambda page: page["last_mutation_id"] == "3"
    )
    assert [d["name"] for d in mine["destinations"]] == ["Belém"]
