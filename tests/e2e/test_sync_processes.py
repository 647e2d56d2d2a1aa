"""Offline sync in distributed mode, between real processes: two `itinera api`, relay, Faust
worker, Tansu, PostgreSQL, Redis. A change pushed on one instance reaches, through the
relay, Kafka and the worker's sync feed projection, a pull and a poke on the other."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.sync_client import SyncClient
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
        # Pull on each poke (others come too: Bob's join is announced in the room) until
        # the change is there; every pull is made only after a poke, never on a timer.
        cursor, changed = joined["cursor"], []
        while not changed:
            message = json.loads(socket.recv(timeout=WAIT))
            if message["type"] == "notification":
                continue
            assert message == {"type": "sync_poke", "trip_id": trip_id}
            page = pull(second, bob, cursor=cursor)
            cursor = page["cursor"]
            changed = [(d["id"], d["name"]) for d in page["destinations"]]
    assert changed == [(destination_id, "Belém")]
    mine = until(
        lambda: pull(second, ada, client_id="phone"), lambda page: page["last_mutation_id"] == "3"
    )
    assert [d["name"] for d in mine["destinations"]] == ["Belém"]


def test_offline_devices_on_either_instance_converge_with_the_server(
    stack: Stack, clients: tuple[httpx.Client, httpx.Client], tmp_path: Path
) -> None:
    """Three users' reference clients, each on its own instance, edit one trip offline (the
    same field and other fields, deletes, messages), reconnect in turn and sync: every
    replica equals a fresh pull and the server's checksums; the clash is a conflict, kept."""
    first, second = clients
    ada, bob, cat = signup(first), signup(first), signup(first)
    devices: list[SyncClient] = []

    def device(http: httpx.Client, user: dict[str, str]) -> SyncClient:
        made = SyncClient(http, user, tmp_path / f"{uuid.uuid4().hex}.sqlite")
        devices.append(made)
        return made

    try:
        phone, tablet, laptop = device(first, ada), device(second, bob), device(first, cat)
        trip_id = phone.create("trip", TRIP)
        places = [phone.create("destination", place(trip_id, name)) for name in ("A", "B", "C")]
        phone.sync(timeout=WAIT)
        for user in (bob, cat):
            added = first.post(
                f"/api/v1/trips/{trip_id}/members",
                json={"user_id": me(first, user), "role": "editor"},
                headers=ada,
            )
            assert added.status_code == 201, added.text
        for member in (tablet, laptop):
            until(
                lambda m=member: (m.sync(timeout=WAIT), m.replica.row("trip", trip_id))[1],  # type: ignore[misc]
                lambda row: row is not None and len(row.data["members"]) == 3,
            )
        for each in devices:
            each.go_offline()
        phone.update("destination", places[0], {"name": "Alfama"})
        tablet.update("destination", places[0], {"name": "Belém"})  # the same field: a clash
        tablet.update("destination", places[1], {"description": "pastéis"})
        laptop.update("destination", places[1], {"name": "Baixa"})  # another field: merged
        laptop.delete("destination", places[2])
        tablet.create(
            "activity",
            {"destination_id": places[1], "title": "Tram 28", "activity_type": "sightseeing"},
        )
        for n, each in enumerate(devices):
            each.create("message", {"trip_id": trip_id, "content": f"back online {n}"})
        for each in (laptop, phone, tablet):  # reconnecting in this order
            each.go_online()
            each.sync(timeout=WAIT)
        for each in devices:  # until quiet: everyone has what the last one pushed
            each.sync(timeout=WAIT)
        (clash,) = tablet.conflicts()
        assert phone.conflicts() == [] and laptop.conflicts() == []
        assert clash.entity_id == places[0]
        for each, user, http in ((phone, ada, second), (tablet, bob, first), (laptop, cat, second)):
            fresh = SyncClient(http, user, tmp_path / f"{uuid.uuid4().hex}.sqlite")
            devices.append(fresh)
            fresh.pull()
            assert rows_of(each) == rows_of(fresh)
            assert each.checksum(trip_id) == checksum_on_server(each, trip_id)
        seen = phone.view()
        assert set(seen["destination"]) == {places[0], places[1]}
        assert seen["destination"][places[0]]["name"] == "Alfama"  # Bob's clash not applied
        assert (
            seen["destination"][places[1]]["name"],
            seen["destination"][places[1]]["description"],
        ) == ("Baixa", "pastéis")
        contents = sorted(
            m["content"] for m in seen["message"].values() if m["content"].startswith("back online")
        )
        assert contents == ["back online 0", "back online 1", "back online 2"]  # each once
    finally:
        for each in devices:
            each.close()


TRIP = {"title": "Lisbon", "start_date": "2027-05-01", "end_date": "2027-05-09"}


def place(trip_id: str, name: str) -> dict[str, Any]:
    return {
        "trip_id": trip_id,
        "name": name,
        "location": {"lat": 38.71, "lng": -9.13},
        "arrival_date": "2027-05-01",
        "departure_date": "2027-05-03",
    }


def rows_of(device: SyncClient) -> dict[tuple[str, str], Any]:
    return {(r.entity_type, r.id): (r.version, r.data) for r in device.rows()}


def checksum_on_server(device: SyncClient, trip_id: str) -> str:
    (trip,) = [t for t in device.status()["trips"] if str(t["trip_id"]) == trip_id]
    return str(trip["checksum"])
