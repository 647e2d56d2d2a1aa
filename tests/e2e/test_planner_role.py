"""Itinerary drafts in distributed mode, with `itinera planner` as a real process beside the
api, relay and Faust worker: a draft asked for over HTTP is made by the planner, projected
by the worker and accepted into the trip; a planner killed in the middle of a model's answer
leaves the job to the next one, which completes it once, charged once, and a finished job
is never run again."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest

from tests.draft_trips import IDEAS, LISBON, TRIP, llm_draft
from tests.e2e.processes import PASSWORD
from tests.e2e.stack import Stack, distributed_stack
from tests.fake_openai import FakeOpenAI, answer, slow
from tests.services import tansu_broker

pytestmark = pytest.mark.e2e

DRAFT = "write_side.planner.draft:ItineraryDraft"
CHARGED = "write_side.planner.quota:DraftQuota.Charged"
OFFLINE = {"ITINERA_LLM_API_KEY": ""}  # whatever the environment says: the offline scheduler


def data(response: httpx.Response, status: int) -> Any:
    body = response.json()
    assert response.status_code == status, body
    assert body["error"] is None
    return body["data"]


def error(response: httpx.Response, status: int, code: str) -> None:
    body = response.json()
    assert response.status_code == status, body
    assert body["data"] is None and body["error"]["code"] == code, body


def drafts(trip_id: str) -> str:
    return f"/api/v1/trips/{trip_id}/itinerary-drafts/"


@pytest.fixture(scope="module")
def stack(postgres_admin_url: str, redis_url: str, tmp_path_factory: Any) -> Iterator[Stack]:
    # A broker of its own: a planner group reading planner-events from the start must meet
    # only drafts this stack's database holds, not those of other modules' stacks.
    with (
        tansu_broker() as kafka_bootstrap,
        distributed_stack(
            postgres_admin_url,
            kafka_bootstrap,
            redis_url,
            tmp_path_factory,
            planner=True,
            extra_env=OFFLINE,
        ) as stack,
    ):
        yield stack


@pytest.fixture
def offline_planner(stack: Stack) -> Stack:
    """The stack with the offline scheduler as its planner (another test may have left one
    that asks a model)."""
    if stack.planner is None or stack.planner.env.get("ITINERA_LLM_API_KEY"):
        stack.replace_planner("planner-offline", OFFLINE)
    return stack


@dataclass(frozen=True)
class User:
    id: str
    headers: dict[str, str]


def signup(client: httpx.Client) -> User:
    username = f"u{uuid4().hex[:12]}"
    registered = client.post(
        "/api/v1/auth/register",
        json={"email": f"{username}@example.org", "username": username, "password": PASSWORD},
    )
    user_id = data(registered, 201)["id"]
    logged_in = client.post("/api/v1/auth/login", json={"login": username, "password": PASSWORD})
    token = data(logged_in, 200)["access_token"]
    return User(user_id, {"Authorization": f"Bearer {token}"})


def lisbon_trip(client: httpx.Client, owner: User) -> tuple[str, str]:
    """A trip with one destination and ideas (activities without a time yet)."""
    trip = data(client.post("/api/v1/trips", json=TRIP, headers=owner.headers), 201)
    body = {**LISBON, "trip_id": trip["id"]}
    place = data(client.post("/api/v1/destinations", json=body, headers=owner.headers), 201)
    for title, kind, cost in IDEAS:
        idea = {"destination_id": place["id"], "title": title, "activity_type": kind, "cost": cost}
        data(client.post("/api/v1/activities", json=idea, headers=owner.headers), 201)
    return trip["id"], place["id"]


def ask(client: httpx.Client, trip_id: str, owner: User, body: dict[str, Any]) -> tuple[str, str]:
    """Ask for a draft; returns its id and URL."""
    asked = client.post(drafts(trip_id), json=body, headers=owner.headers)
    queued = data(asked, 202)
    assert queued["status"] == "queued"
    assert asked.headers["Location"] == f"{drafts(trip_id)}{queued['draft_id']}/"
    return queued["draft_id"], asked.headers["Location"]


def tails(stack: Stack) -> str:
    return "\n".join(f"--- {role.name}\n{role.tail()}" for role in stack.roles())


def finished(
    stack: Stack, client: httpx.Client, url: str, who: User, timeout: float = 90
) -> dict[str, Any]:
    """The draft's view once it is ready or failed and the worker has projected it."""
    deadline = time.monotonic() + timeout
    seen: Any = None
    while True:
        for role in stack.roles():
            role.check_alive()
        response = client.get(url, headers=who.headers)
        seen = response.json()
        if (
            response.status_code == 200
            and seen["data"]["status"] in ("ready", "failed")
            and not seen["meta"].get("stale")
        ):
            return dict(seen["data"])
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} never finished: {seen}\n{tails(stack)}")
        time.sleep(0.2)


def wait_until(done: Any, stack: Stack, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"{what}: not in {timeout} s\n{tails(stack)}"
        time.sleep(0.1)


def stored_events(database_url: str, originator_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The aggregate's events as the event store holds them: (topic, state), in order."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT topic, state FROM itinera_events WHERE originator_id = %s"
            " ORDER BY originator_version",
            (originator_id,),
        ).fetchall()
    return [(str(topic), json.loads(bytes(state))) for topic, state in rows]


def charges_of(database_url: str, draft_id: str) -> list[str]:
    """The ids of the quota aggregates whose Charged events name the draft."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT originator_id, state FROM itinera_events WHERE topic = %s", (CHARGED,)
        ).fetchall()
    return [
        str(quota)
        for quota, state in rows
        if _uuid(json.loads(bytes(state))["draft_id"]) == UUID(draft_id)
    ]


def _uuid(stored: Any) -> UUID:
    """A UUID as eventsourcing's JSON transcoder stores it ({"_type_", "_data_"})."""
    return UUID(stored["_data_"] if isinstance(stored, dict) else stored)


def test_a_draft_made_by_the_planner_role_is_followed_read_and_accepted(
    offline_planner: Stack,
) -> None:
    stack = offline_planner
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        owner, viewer = signup(client), signup(client)
        trip_id, lisbon = lisbon_trip(client, owner)
        member = {"user_id": viewer.id, "role": "viewer"}
        added = client.post(f"/api/v1/trips/{trip_id}/members/", json=member, headers=owner.headers)
        assert added.status_code == 201, added.text

        draft_id, url = ask(client, trip_id, owner, {"pace": "relaxed"})
        view = finished(stack, client, url, owner)
        assert view["status"] == "ready", view
        assert view["model"] == "offline-scheduler-1"
        assert view["attempts"] == 1
        items = [item for day in view["draft"]["days"] for item in day["items"]]
        assert {title for title, _, _ in IDEAS} <= {item["title"] for item in items}

        read = data(client.get(url, headers=viewer.headers), 200)  # members may read it
        assert read["id"] == draft_id and read["status"] == "ready"
        accept = f"{url}accept/"
        error(client.post(accept, json={}, headers=viewer.headers), 403, "forbidden")

        first = items[0]["item_id"]
        one = data(client.post(accept, json={"item_ids": [first]}, headers=owner.headers), 200)
        assert [(i["item_id"], i["outcome"]) for i in one["items"]] == [(first, "accepted")]
        every = data(client.post(accept, json={}, headers=owner.headers), 200)
        outcomes = {i["item_id"]: i["outcome"] for i in every["items"]}
        assert outcomes.pop(first) == "already_accepted"
        assert set(outcomes.values()) == {"accepted"}, every

        trip = client.get(
            f"/api/v1/trips/{trip_id}",
            params={"min_version": every["version"]},
            headers=owner.headers,
        )
        assert trip.status_code == 200 and not trip.json()["meta"]["stale"], trip.text
        scheduled = {
            a["title"]: a
            for d in data(trip, 200)["destinations"]
            if d["id"] == lisbon
            for a in d["activities"]
        }
        for item in items:
            assert scheduled[item["title"]]["start"]["local"].startswith(item["start"][:16])
        history = data(client.get(f"/api/v1/trips/{trip_id}/history", headers=owner.headers), 200)
        assert {h["causation_id"] for h in history if h["causation_id"]} == {
            one["acceptance_id"],
            every["acceptance_id"],
        }


def test_a_planner_killed_mid_answer_leaves_the_job_to_the_next_which_completes_it_once(
    stack: Stack,
) -> None:
    with FakeOpenAI.start() as fake, httpx.Client(base_url=stack.base_url, timeout=10) as client:
        model = {
            "ITINERA_LLM_BASE_URL": fake.base_url,
            "ITINERA_LLM_API_KEY": "test-key",
            "ITINERA_LLM_MODEL": "fake-model",
            "ITINERA_LLM_MAX_RETRIES": "0",
            "ITINERA_LLM_TIMEOUT_SECONDS": "120",  # the slow answer must not time out first
        }
        group = {"ITINERA_PLANNER_GROUP_ID": f"itinera-planner-llm-{uuid4().hex[:8]}"}
        dying = stack.replace_planner("planner-llm-1", {**model, **group})
        owner = signup(client)
        trip_id, lisbon = lisbon_trip(client, owner)
        valid = answer(llm_draft(lisbon), prompt_tokens=1200, completion_tokens=300)
        fake.script(slow(60, valid), valid)

        draft_id, url = ask(client, trip_id, owner, {"interests": ["design"]})
        wait_until(lambda: len(fake.requests) == 1, stack, "the first planner's call")
        dying.check_alive()
        dying.kill()  # in the middle of the model's answer
        stack.replace_planner("planner-llm-2", {**model, **group})  # it takes the job over
        view = finished(stack, client, url, owner)

        assert view["status"] == "ready", view
        assert view["attempts"] == 2
        assert view["model"] == "fake-model"
        assert (view["usage"]["tokens_in"], view["usage"]["tokens_out"]) == (1200, 300)
        assert len(fake.requests) == 2
        events = stored_events(stack.database_url, draft_id)
        topics = [topic.removeprefix(f"{DRAFT}.") for topic, _ in events]
        assert topics.count("Completed") == 1, topics
        assert "Failed" not in topics, topics
        assert [s["attempt"] for t, s in events if t == f"{DRAFT}.Started"] == [1, 2]
        assert len(charges_of(stack.database_url, draft_id)) == 1

        # A planner of a new group reads the request again: the finished job is not rerun.
        rerun = stack.replace_planner("planner-rerun", model)
        wait_until(
            lambda: f"itinerary draft {draft_id}: ready" in rerun.log_path.read_text("utf-8"),
            stack,
            "the rerun planner's look at the finished draft",
        )
        rerun.check_alive()
        assert stored_events(stack.database_url, draft_id) == events
        assert len(charges_of(stack.database_url, draft_id)) == 1
        assert len(fake.requests) == 2
