"""Calls of the sync endpoints for the tests: push, pull (every page), and the changes of a
small trip made offline."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.integration.test_chat import auth

LISBON = {"title": "Lisbon", "start_date": "2027-04-01", "end_date": "2027-04-10"}


def new_id() -> str:
    return str(uuid.uuid4())


def change(
    entity_type: str, entity_id: str, action: str, data: dict[str, Any] | None = None, **more: Any
) -> dict[str, Any]:
    return {
        "entity_type": entity_type,
        "entity_id": entity_id,
        "action": action,
        "data": data or {},
        **more,
    }


def destination(trip_id: str, name: str = "Alfama", **more: Any) -> dict[str, Any]:
    return {
        "trip_id": trip_id,
        "name": name,
        "location": {"lat": 38.71, "lng": -9.13},
        "arrival_date": "2027-04-01",
        "departure_date": "2027-04-04",
        **more,
    }


def push_raw(
    client: TestClient,
    user: dict[str, str],
    changes: list[dict[str, Any]],
    client_id: str = "phone",
) -> Any:
    return client.post(
        "/api/v1/sync/push/", json={"client_id": client_id, "changes": changes}, headers=auth(user)
    )


def push(
    client: TestClient,
    user: dict[str, str],
    changes: list[dict[str, Any]],
    client_id: str = "phone",
) -> list[dict[str, Any]]:
    """Each change's outcome, in order."""
    response = push_raw(client, user, changes, client_id)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["data"]["results"]
    return results


def pull_page(client: TestClient, user: dict[str, str], **params: Any) -> Any:
    response = client.get("/api/v1/sync/pull/", params=params, headers=auth(user))
    assert response.status_code == 200, response.text
    return response.json()["data"]


def pull_all(
    client: TestClient, user: dict[str, str], cursor: str | None = None, **params: Any
) -> tuple[dict[str, Any], str]:
    """Every page from `cursor`: each entity by id as last seen, tombstones, and the cursor."""
    seen: dict[str, Any] = {"trips": {}, "destinations": {}, "activities": {}, "messages": {}}
    gone: dict[str, set[str]] = {kind: set() for kind in seen}
    pages = 0
    while True:
        page = pull_page(client, user, **params, **({"cursor": cursor} if cursor else {}))
        pages += 1
        for kind in seen:
            for entity in page[kind]:
                seen[kind][entity["id"]] = entity
            gone[kind] |= set(page["deleted"][kind])
        cursor = page["cursor"]
        if not page["has_more"]:
            return {**seen, "deleted": gone, "pages": pages, "last": page}, cursor
        assert pages < 1000, "pages never end"


def eventually(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 10) -> Any:
    """The feed follows the events within the projector's lag."""
    deadline = time.monotonic() + timeout
    while True:
        found = read()
        if done(found):
            return found
        assert time.monotonic() < deadline, f"not reached in {timeout} s: {found}"
        time.sleep(0.05)


def planned_offline(client: TestClient, user: dict[str, str]) -> tuple[str, str]:
    """A trip and a destination, created offline with the client's own ids, pushed; waits
    until the user's feed has them. Returns (trip id, destination id)."""
    trip_id, destination_id = new_id(), new_id()
    results = push(
        client,
        user,
        [
            change("trip", trip_id, "create", LISBON, mutation_id="t1"),
            change("destination", destination_id, "create", destination(trip_id), mutation_id="d1"),
        ],
    )
    assert [r["status"] for r in results] == ["applied", "applied"], results
    eventually(
        lambda: pull_all(client, user)[0]["destinations"], lambda found: destination_id in found
    )
    return trip_id, destination_id


def add_member(
    client: TestClient, owner: dict[str, str], trip_id: str, user: dict[str, str], role: str
) -> None:
    added = client.post(
        f"/api/v1/trips/{trip_id}/members/",
        json={"user_id": user["X-User"], "role": role},
        headers=auth(owner),
    )
    assert added.status_code == 201, added.text
