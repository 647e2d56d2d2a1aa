"""Itinerary drafts through the API, embedded mode over real PostgreSQL: asked for (202 at
once), made by the offline scheduler or by an OpenAI-compatible server (the fake one, over
HTTP), followed to `ready`, announced to the trip's members, accepted item by item."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from infra.settings import Settings
from tests.draft_trips import IDEAS, LISBON, TRIP, llm_draft
from tests.fake_openai import FakeOpenAI, answer, refusal
from tests.fake_openai import error as provider_error
from tests.integration.conftest import Signup, prepared_settings, signup_on
from tests.integration.sync_calls import add_member, eventually
from tests.integration.test_api import data, error
from tests.integration.test_chat import auth

pytestmark = pytest.mark.integration


def lisbon_trip(client: TestClient, owner: dict[str, str]) -> tuple[str, str]:
    trip = data(client.post("/api/v1/trips", json=TRIP, headers=auth(owner)), 201)
    place = data(
        client.post(
            "/api/v1/destinations", json={**LISBON, "trip_id": trip["id"]}, headers=auth(owner)
        ),
        201,
    )
    for title, kind, cost in IDEAS:  # ideas: activities without a time yet
        body = {"destination_id": place["id"], "title": title, "activity_type": kind, "cost": cost}
        data(client.post("/api/v1/activities", json=body, headers=auth(owner)), 201)
    return trip["id"], place["id"]


def drafts(trip_id: str) -> str:
    return f"/api/v1/trips/{trip_id}/itinerary-drafts/"


def finished(client: TestClient, url: str, who: dict[str, str]) -> dict[str, Any]:
    view: dict[str, Any] = eventually(
        lambda: data(client.get(url, headers=auth(who)), 200),
        lambda found: found["status"] in ("ready", "failed"),
    )
    return view


def test_a_member_asks_for_a_draft_follows_it_and_accepts_it(
    client: TestClient, signup: Signup
) -> None:
    owner, viewer, stranger = signup(), signup(), signup()
    trip_id, lisbon = lisbon_trip(client, owner)
    add_member(client, owner, trip_id, viewer, "viewer")

    asked = client.post(drafts(trip_id), json={"pace": "relaxed"}, headers=auth(owner))
    queued = data(asked, 202)
    assert queued["status"] == "queued"
    assert asked.headers["Location"] == f"{drafts(trip_id)}{queued['id']}/"
    view = finished(client, asked.headers["Location"], viewer)  # members may read it
    assert view["status"] == "ready", view
    assert view["model"] == "offline-scheduler-1"
    assert view["usage"]["tokens_in"] == 0 and view["usage"]["cost"] == "0"
    items = [i for day in view["draft"]["days"] for i in day["items"]]
    assert sorted(i["title"] for i in items) == sorted(t for t, _, _ in IDEAS)
    assert all(i["time_zone"] == "Europe/Lisbon" and not i["accepted"] for i in items)
    listed = data(client.get(drafts(trip_id), headers=auth(owner)), 200)
    assert [d["id"] for d in listed] == [queued["id"]]

    # Members hear of it in their inbox (and on /ws/notifications/ through the same push).
    inbox = eventually(
        lambda: data(client.get("/api/v1/notifications/", headers=auth(viewer)), 200),
        lambda found: any("itinerary draft" in n["message"] for n in found),
    )
    assert any(n["related_trip"] == trip_id for n in inbox)

    accept = f"{asked.headers['Location']}accept/"
    error(client.post(accept, json={}, headers=auth(viewer)), 403, "forbidden")
    error(client.get(asked.headers["Location"], headers=auth(stranger)), 404, "trip_not_found")
    first = items[0]["item_id"]
    one = data(client.post(accept, json={"item_ids": [first]}, headers=auth(owner)), 200)
    assert [(i["item_id"], i["outcome"]) for i in one["items"]] == [(first, "accepted")]
    every = data(client.post(accept, json={}, headers=auth(owner)), 200)
    outcomes = {i["item_id"]: i["outcome"] for i in every["items"]}
    assert outcomes.pop(first) == "already_accepted"
    assert set(outcomes.values()) == {"accepted"}

    trip = data(client.get(f"/api/v1/trips/{trip_id}", headers=auth(owner)), 200)
    scheduled = {
        a["title"]: a for d in trip["destinations"] if d["id"] == lisbon for a in d["activities"]
    }
    for item in items:
        assert scheduled[item["title"]]["start"]["local"].startswith(item["start"][:16])
    history = data(client.get(f"/api/v1/trips/{trip_id}/history", headers=auth(owner)), 200)
    assert {h["causation_id"] for h in history if h["causation_id"]} == {
        one["acceptance_id"],
        every["acceptance_id"],
    }
    accepted = eventually(
        lambda: data(client.get(asked.headers["Location"], headers=auth(owner)), 200),
        lambda found: len(found["accepted"]) == len(items),
    )
    assert {a["accepted_by"] for a in accepted["accepted"].values()} == {owner["X-User"]}


def test_asking_is_for_editors_keyed_retries_answer_the_same_draft_and_bad_input_is_422(
    client: TestClient, signup: Signup
) -> None:
    owner, viewer = signup(), signup()
    trip_id, _ = lisbon_trip(client, owner)
    add_member(client, owner, trip_id, viewer, "viewer")
    error(client.post(drafts(trip_id), json={}, headers=auth(viewer)), 403, "forbidden")
    keyed = {**auth(owner), "Idempotency-Key": "draft-1"}
    first = client.post(drafts(trip_id), json={"interests": ["food"]}, headers=keyed)
    finished(client, first.headers["Location"], owner)
    again = client.post(drafts(trip_id), json={"interests": ["food"]}, headers=keyed)
    assert data(again, 202)["id"] == data(first, 202)["id"]
    assert data(again, 202)["status"] == "ready"  # as it is now, not run again
    assert again.headers["Idempotent-Replayed"] == "true"
    other = client.post(drafts(trip_id), json={"interests": ["art"]}, headers=keyed)
    error(other, 422, "idempotency_key_reused")
    for bad in ({"pace": "frantic"}, {"budget": "-5"}, {"surprise": 1}, {"interests": [""]}):
        error(client.post(drafts(trip_id), json=bad, headers=auth(owner)), 422, "validation_failed")
    missing = f"{drafts(trip_id)}{uuid.uuid4()}/"
    error(client.get(missing, headers=auth(owner)), 404, "draft_not_found")
    error(client.post(f"{missing}accept/", json={}, headers=auth(owner)), 404, "draft_not_found")


@pytest.fixture
def fake_llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI.start() as fake:
        yield fake


def llm_client(
    database_url: str, redis_url: str, tmp_path: Path, fake: FakeOpenAI, **more: Any
) -> TestClient:
    settings = prepared_settings(database_url, redis_url, tmp_path)
    configured = Settings(
        **{
            **settings.model_dump(),
            "llm_base_url": fake.base_url,
            "llm_api_key": "test-key",
            "llm_model": "fake-model",
            "llm_timeout_seconds": 5,
            "llm_max_retries": 0,
            **more,
        }
    )
    return TestClient(create_app(configured), raise_server_exceptions=False)


def test_with_an_llm_configured_the_model_drafts_and_its_cost_is_recorded(
    database_url: str, redis_url: str, tmp_path: Path, fake_llm: FakeOpenAI
) -> None:
    with llm_client(database_url, redis_url, tmp_path, fake_llm, planner_daily_quota=1) as client:
        owner = signup_on(client)()
        trip_id, lisbon = lisbon_trip(client, owner)
        valid = answer(json.dumps(llm_draft(lisbon)), prompt_tokens=1200, completion_tokens=300)
        fake_llm.script(valid)
        asked = client.post(drafts(trip_id), json={"interests": ["design"]}, headers=auth(owner))
        view = finished(client, asked.headers["Location"], owner)
        assert view["status"] == "ready", view
        assert view["model"] == "fake-model"
        usage = view["usage"]
        assert (usage["tokens_in"], usage["tokens_out"]) == (1200, 300)
        assert usage["cost"] == "0.000360"  # (1200 * 0.15 + 300 * 0.60) per million
        assert [i["title"] for d in view["draft"]["days"] for i in d["items"]] == ["LX Factory"]
        sent = fake_llm.requests[0]
        assert sent.body["response_format"]["type"] == "json_schema"
        assert "design" in sent.text()
        # The day's allowance (1) is used: asking again is refused at once.
        refused = client.post(drafts(trip_id), json={}, headers=auth(owner))
        error(refused, 429, "quota_exceeded")
        assert int(refused.headers["Retry-After"]) > 0


def test_a_refusal_fails_the_draft_with_its_reason_and_charges_the_user(
    database_url: str, redis_url: str, tmp_path: Path, fake_llm: FakeOpenAI
) -> None:
    with llm_client(database_url, redis_url, tmp_path, fake_llm, planner_daily_quota=1) as client:
        owner = signup_on(client)()
        trip_id, _ = lisbon_trip(client, owner)
        fake_llm.script(refusal("I can't help with that."))
        asked = client.post(drafts(trip_id), json={"notes": "something odd"}, headers=auth(owner))
        view = finished(client, asked.headers["Location"], owner)
        assert view["status"] == "failed"
        assert view["failure"]["reason"] == "refused" and view["failure"]["refunded"] is False
        error(client.post(drafts(trip_id), json={}, headers=auth(owner)), 429, "quota_exceeded")


def test_a_provider_outage_fails_the_draft_and_refunds_the_quota(
    database_url: str, redis_url: str, tmp_path: Path, fake_llm: FakeOpenAI
) -> None:
    with llm_client(database_url, redis_url, tmp_path, fake_llm, planner_daily_quota=1) as client:
        owner = signup_on(client)()
        trip_id, _ = lisbon_trip(client, owner)
        fake_llm.script(provider_error(500, "down"))
        asked = client.post(drafts(trip_id), json={}, headers=auth(owner))
        view = finished(client, asked.headers["Location"], owner)
        assert view["failure"]["reason"] == "provider_unavailable"
        assert view["failure"]["refunded"] is True
        again = client.post(drafts(trip_id), json={"pace": "packed"}, headers=auth(owner))
        assert data(again, 202)["status"] == "queued"  # the allowance came back


def test_members_sockets_hear_the_draft_is_ready(client: TestClient, signup: Signup) -> None:
    owner, editor = signup(), signup()
    trip_id, _ = lisbon_trip(client, owner)
    add_member(client, owner, trip_id, editor, "editor")
    with client.websocket_connect("/ws/notifications/", headers=auth(owner)) as ws:
        assert ws.receive_json()["type"] == "subscription_success"
        asked = data(client.post(drafts(trip_id), json={}, headers=auth(editor)), 202)
        while (pushed := ws.receive_json())["type"] != "notification" or (
            "itinerary draft" not in pushed["notification"]["message"]
        ):
            pass  # sync pokes and the new member's trip update come first
    assert pushed["notification"]["related_trip"] == trip_id
    assert asked["id"] in pushed["notification"]["message"]


def test_recommendations_from_public_trips_nearby_become_candidates_of_a_draft(
    client: TestClient, signup: Signup
) -> None:
    local, visitor = signup(), signup()
    public_id, public_lisbon = lisbon_trip(client, local)
    body = {
        "destination_id": public_lisbon,
        "title": "Pasteis de Belem",
        "description": "Custard tarts by the monastery",
        "activity_type": "restaurant",
    }
    data(client.post("/api/v1/activities", json=body, headers=auth(local)), 201)
    made_public = client.patch(
        f"/api/v1/trips/{public_id}", json={"visibility": "public"}, headers=auth(local)
    )
    data(made_public, 200)
    trip = data(client.post("/api/v1/trips", json=TRIP, headers=auth(visitor)), 201)
    data(
        client.post(
            "/api/v1/destinations", json={**LISBON, "trip_id": trip["id"]}, headers=auth(visitor)
        ),
        201,
    )
    eventually(  # the catalogue has the public trip's items
        lambda: data(
            client.get(f"/api/v1/trips/{trip['id']}/recommendations", headers=auth(visitor)),
            200,
        ),
        lambda found: any(a["title"] == "Pasteis de Belem" for a in found["activities"]),
    )
    asked = client.post(drafts(trip["id"]), json={"pace": "packed"}, headers=auth(visitor))
    view = finished(client, asked.headers["Location"], visitor)
    items = [i for day in view["draft"]["days"] for i in day["items"]]
    tarts = [i for i in items if i["title"] == "Pasteis de Belem"]
    assert len(tarts) == 1, items
    assert tarts[0]["idea_key"].startswith("recommended:")
    assert tarts[0]["reason"].startswith("recommended")
    # Accepting a recommendation adds it to the visitor's trip as a new activity.
    accept = f"{asked.headers['Location']}accept/"
    done = data(
        client.post(accept, json={"item_ids": [tarts[0]["item_id"]]}, headers=auth(visitor)), 200
    )
    assert done["items"][0]["outcome"] == "accepted"
    mine = data(client.get(f"/api/v1/trips/{trip['id']}", headers=auth(visitor)), 200)
    assert [a["title"] for d in mine["destinations"] for a in d["activities"]] == [
        "Pasteis de Belem"
    ]


def test_an_identical_request_is_answered_from_the_cache_for_free(
    client: TestClient, signup: Signup
) -> None:
    owner = signup()
    trip_id, _ = lisbon_trip(client, owner)
    body = {"interests": ["history"], "pace": "moderate"}
    first = client.post(drafts(trip_id), json=body, headers=auth(owner))
    one = finished(client, first.headers["Location"], owner)
    second = client.post(drafts(trip_id), json=body, headers=auth(owner))
    two = finished(client, second.headers["Location"], owner)
    assert (one["usage"]["cached"], two["usage"]["cached"]) == (False, True)
    assert two["usage"]["tokens_in"] == 0 and two["usage"]["cost"] == "0"
    assert titles(two) == titles(one)


def titles(view: dict[str, Any]) -> list[str]:
    return [i["title"] for day in view["draft"]["days"] for i in day["items"]]
