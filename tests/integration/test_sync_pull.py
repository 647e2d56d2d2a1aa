"""Sync pull, status and pokes, embedded, over real PostgreSQL: a cursor per trip that
cannot skip, compacted bounded pages, membership joins and revocations, 410 when a cursor
cannot be served, write checkpoints, checksums."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from infra.settings import Settings
from tests.integration.conftest import Signup
from tests.integration.sync_calls import (
    add_member,
    change,
    destination,
    eventually,
    new_id,
    planned_offline,
    pull_all,
    pull_page,
    push,
)
from tests.integration.test_chat import auth

ITINERA = str(Path(sys.executable).with_name("itinera"))


def test_a_page_holds_each_entity_once_in_its_latest_state_and_pages_miss_nothing(
    client: TestClient, signup: Signup
) -> None:
    ada = signup()
    trip_id, first = planned_offline(client, ada)
    places = [new_id() for _ in range(6)]
    push(
        client,
        ada,
        [
            change("destination", p, "create", destination(trip_id, f"P{n}"))
            for n, p in enumerate(places)
        ],
    )
    for n in range(3):  # a longer history of the same entity: still one row
        push(client, ada, [change("destination", places[0], "update", {"name": f"Again {n}"})])
    whole = eventually(
        lambda: pull_all(client, ada)[0],
        lambda f: f["destinations"].get(places[0], {}).get("name") == "Again 2",
    )
    assert set(whole["destinations"]) == {first, *places}
    paged, cursor = pull_all(client, ada, limit=2)
    assert paged["pages"] == 4  # 1 trip + 7 destinations, 2 a page
    assert paged["destinations"] == whole["destinations"]
    assert paged["trips"] == whole["trips"]
    page = pull_page(client, ada, limit=3)
    ids = [e["id"] for kind in ("trips", "destinations") for e in page[kind]]
    assert len(ids) == len(set(ids)) == 3 and page["has_more"]
    # After the last page nothing is new; a change made later comes, alone.
    assert pull_page(client, ada, cursor=cursor)["destinations"] == []
    push(client, ada, [change("destination", places[3], "update", {"name": "Later"})])
    later = eventually(lambda: pull_page(client, ada, cursor=cursor), lambda p: p["destinations"])
    assert [(d["id"], d["name"]) for d in later["destinations"]] == [(places[3], "Later")]
    assert later["trips"] == []


def test_tombstones_purge_what_was_removed(client: TestClient, signup: Signup) -> None:
    ada = signup()
    _, destination_id = planned_offline(client, ada)
    activity_id = new_id()
    push(
        client,
        ada,
        [
            change(
                "activity",
                activity_id,
                "create",
                {
                    "destination_id": destination_id,
                    "title": "Tram 28",
                    "activity_type": "sightseeing",
                },
            )
        ],
    )
    _, cursor = eventually(
        lambda: pull_all(client, ada), lambda f: activity_id in f[0]["activities"]
    )
    push(client, ada, [change("destination", destination_id, "delete")])
    gone = eventually(
        lambda: pull_page(client, ada, cursor=cursor), lambda p: p["deleted"]["destinations"]
    )
    assert gone["deleted"]["destinations"] == [destination_id]
    assert gone["deleted"]["activities"] == [activity_id]  # its activities went with it
    fresh = pull_page(client, ada)  # a new client gets no tombstones: nothing to purge
    assert fresh["deleted"] == {"trips": [], "destinations": [], "activities": [], "messages": []}


def test_joining_brings_the_whole_trip_and_leaving_or_archiving_purges_it(
    client: TestClient, signup: Signup
) -> None:
    ada, bob = signup(), signup()
    trip_id, destination_id = planned_offline(client, ada)
    other_trip, _ = planned_offline(client, bob)
    _, cursor = pull_all(client, bob)  # Bob is up to date with his own trip
    add_member(client, ada, trip_id, bob, "editor")
    joined = eventually(lambda: pull_all(client, bob, cursor)[0], lambda f: trip_id in f["trips"])
    assert destination_id in joined["destinations"]  # the whole trip, whatever the cursor
    cursor = pull_all(client, bob, cursor)[1]
    removed = client.delete(f"/api/v1/trips/{trip_id}/members/{bob['X-User']}/", headers=auth(ada))
    assert removed.status_code in (200, 204), removed.text
    left = eventually(
        lambda: pull_page(client, bob, cursor=cursor), lambda p: p["deleted"]["trips"]
    )
    assert left["deleted"]["trips"] == [trip_id]
    cursor = left["cursor"]
    # Ada's later changes do not reach Bob; his own trip still does.
    push(client, ada, [change("destination", destination_id, "update", {"name": "Private"})])
    push(client, bob, [change("trip", other_trip, "update", {"title": "Mine"})])
    mine = eventually(lambda: pull_page(client, bob, cursor=cursor), lambda p: p["trips"])
    assert [t["id"] for t in mine["trips"]] == [other_trip] and mine["destinations"] == []
    cursor = mine["cursor"]
    archived = client.delete(f"/api/v1/trips/{other_trip}/", headers=auth(bob))
    assert archived.status_code in (200, 204), archived.text
    purged = eventually(
        lambda: pull_page(client, bob, cursor=cursor), lambda p: p["deleted"]["trips"]
    )
    assert purged["deleted"]["trips"] == [other_trip]
    assert pull_all(client, bob)[0]["trips"] == {}


def test_seed_clients_pull_by_timestamp_and_miss_nothing(
    client: TestClient, signup: Signup
) -> None:
    ada = signup()
    trip_id, destination_id = planned_offline(client, ada)
    first = pull_page(client, ada)  # the seed's initial sync: no timestamp, no cursor
    assert [t["id"] for t in first["trips"]] == [trip_id]
    since = first["sync_timestamp"]
    push(client, ada, [change("destination", destination_id, "update", {"name": "Belém"})])
    later = eventually(
        lambda: pull_page(client, ada, last_sync_timestamp=since),
        lambda p: any(d["name"] == "Belém" for d in p["destinations"]),
    )
    assert later["sync_timestamp"] > since
    body = client.request(
        "GET",
        "/api/v1/sync/pull/",
        json={"last_sync_timestamp": since, "entity_types": ["destination"]},
        headers=auth(ada),
    )
    assert body.status_code == 200, body.text
    assert body.json()["data"]["trips"] == [] and body.json()["data"]["destinations"]


def test_a_pull_reports_the_last_mutation_whose_effects_it_holds(
    client: TestClient, signup: Signup
) -> None:
    ada = signup()
    trip_id, destination_id = planned_offline(client, ada)
    _, cursor = pull_all(client, ada, client_id="phone")
    for n in range(1, 6):
        push(
            client,
            ada,
            [
                change(
                    "destination", destination_id, "update", {"name": f"N{n}"}, mutation_id=f"w{n}"
                )
            ],
        )
        page = pull_page(client, ada, cursor=cursor, client_id="phone")
        cursor = page["cursor"]
        names = [d["name"] for d in page["destinations"]]
        # A checkpoint never runs ahead of the data: w<k> reported means N<k> (or later) is
        # in what this cursor chain delivered.
        if page["last_mutation_id"] == f"w{n}":
            assert names == [f"N{n}"], page
    final = eventually(
        lambda: pull_page(client, ada, cursor=cursor, client_id="phone"),
        lambda p: p["last_mutation_id"] == "w5",
    )
    assert final["checkpoint"] == {"client_id": "phone", "mutation_id": "w5"}
    refused = push(
        client,
        ada,
        [change("trip", trip_id, "update", {"start_date": "2030-01-01"}, mutation_id="w6")],
    )
    assert refused[0]["status"] == "error"
    settled = pull_page(client, ada, cursor=final["cursor"], client_id="phone")
    assert settled["last_mutation_id"] == "w6"  # a refusal has no effect to wait for


def test_status_checksums_match_the_replica_a_client_pulled(
    client: TestClient, signup: Signup
) -> None:
    ada = signup()
    trip_id, _ = planned_offline(client, ada)
    push(
        client, ada, [change("message", new_id(), "create", {"trip_id": trip_id, "content": "hi"})]
    )
    feed = eventually(lambda: pull_all(client, ada, client_id="phone")[0], lambda f: f["messages"])
    lines = sorted(
        (e["id"], f"{kind}:{e['id']}:{e['version']}")
        for kind, plural in (
            ("trip", "trips"),
            ("destination", "destinations"),
            ("activity", "activities"),
            ("message", "messages"),
        )
        for e in feed[plural].values()
    )
    expected = hashlib.sha256("\n".join(line for _, line in lines).encode()).hexdigest()
    status = client.get(
        "/api/v1/sync/status/", params={"client_id": "phone"}, headers=auth(ada)
    ).json()["data"]
    # The trip's version: its stream's, as the newest of its entities carries it.
    newest = max(e["version"] for kind in ("trips", "destinations") for e in feed[kind].values())
    assert status["trips"] == [{"trip_id": trip_id, "version": newest, "checksum": expected}]
    assert status["client_ids"] == ["phone"]
    assert status["clients"][0]["last_pull_at"] is not None


def test_members_sockets_are_poked_when_their_trip_changes(
    client: TestClient, signup: Signup
) -> None:
    ada, bob = signup(), signup()
    trip_id, destination_id = planned_offline(client, ada)
    add_member(client, ada, trip_id, bob, "viewer")
    with client.websocket_connect("/ws/notifications/", headers=auth(bob)) as ws:
        assert ws.receive_json()["type"] == "subscription_success"
        push(client, ada, [change("destination", destination_id, "update", {"name": "Belém"})])
        received: list[Any] = []
        while not any(m.get("type") == "sync_poke" for m in received):
            received.append(ws.receive_json())
        assert {"type": "sync_poke", "trip_id": trip_id} in received


def test_cursors_that_cannot_be_served_are_refused(
    client: TestClient, signup: Signup, api_settings: Settings
) -> None:
    ada, bob = signup(), signup()
    planned_offline(client, ada)
    _, cursor = pull_all(client, ada)

    def pulled(user: dict[str, str], **params: Any) -> tuple[int, str]:
        response = client.get("/api/v1/sync/pull/", params=params, headers=auth(user))
        return response.status_code, response.json()["error"]["code"]

    body, tag = cursor.split(".")
    assert pulled(ada, cursor="garbage") == (400, "invalid_cursor")
    assert pulled(ada, cursor=f"{body[:-2]}AA.{tag}") == (400, "invalid_cursor")  # forged
    assert pulled(bob, cursor=cursor) == (400, "invalid_cursor")  # someone else's
    assert pulled(ada, cursor=cursor, entity_types="trip") == (410, "sync_reset_required")
    assert pulled(ada, limit=0)[0] == 422
    assert pulled(ada, entity_types="hotel")[0] == 422
    # A feed built again numbers positions again: older cursors start over.
    env = {**os.environ, "ITINERA_DATABASE_URL": str(api_settings.database_url)}
    rebuilt = subprocess.run(
        [ITINERA, "rebuild", "sync_feed"], env=env, capture_output=True, text=True, timeout=120
    )
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert pulled(ada, cursor=cursor) == (410, "sync_reset_required")
    again, _ = pull_all(client, ada)
    assert len(again["trips"]) == 1 and len(again["destinations"]) == 1
