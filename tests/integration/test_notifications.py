"""Notifications, built by projections from trip and chat events, against real PostgreSQL and
Redis: each type, coalescing, read state that survives `itinera rebuild notifications`,
only the recipient's, and the live push on /ws/notifications/."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from api.main import create_app
from infra.settings import Settings
from tests.integration.conftest import Signup
from tests.integration.test_chat import auth, post, subscribed, trip_of

ITINERA = str(Path(sys.executable).with_name("itinera"))


@pytest.fixture
def client(api_settings: Settings) -> Iterator[TestClient]:
    fast = api_settings.model_copy(update={"ws_recheck_seconds": 0.2})
    with TestClient(create_app(fast), raise_server_exceptions=False) as client:
        yield client


def inbox(client: TestClient, user: dict[str, str], **params: Any) -> Any:
    response = client.get("/api/v1/notifications/", params=params, headers=auth(user))
    assert response.status_code == 200, response.text
    return response.json()


def eventually(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 10) -> Any:
    """Notifications follow the events that cause them within the projectors' lag."""
    deadline = time.monotonic() + timeout
    while True:
        found = read()
        if done(found):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.05)


def past_pokes(ws: WebSocketTestSession, trip_id: str) -> Any:
    """The next message that is not a sync poke (the trip's sync feed changing too)."""
    while (received := ws.receive_json())["type"] == "sync_poke":
        assert received == {"type": "sync_poke", "trip_id": trip_id}
    return received


def kinds(found: Any) -> list[tuple[str, int, bool]]:
    return [(n["type"], n["count"], n["is_read"]) for n in found["data"]]


def test_an_invitation_names_who_added_you_and_the_actor_hears_nothing(
    client: TestClient, signup: Signup
) -> None:
    ada, bob = signup(), signup()
    trip_id = trip_of(client, ada, bob)
    found = eventually(lambda: inbox(client, bob), lambda f: f["data"])
    (invite,) = found["data"]
    assert (invite["type"], invite["related_user"], invite["related_trip"]) == (
        "trip_invite",
        ada["X-User"],
        trip_id,
    )
    assert invite["title"] == "You were added to Lisbon" and not invite["is_read"]
    assert found["meta"]["unread_count"] == 1
    assert inbox(client, ada)["data"] == []  # the actor of a change is never notified


def test_trip_updates_gather_while_unread_and_start_again_once_read(
    client: TestClient, signup: Signup
) -> None:
    ada, bob = signup(), signup()
    trip_id = trip_of(client, ada, bob)
    for title in ("Porto", "Braga", "Faro"):
        changed = client.patch(
            f"/api/v1/trips/{trip_id}/", json={"title": title}, headers=auth(ada)
        )
        assert changed.status_code == 200, changed.text
    found = eventually(
        lambda: inbox(client, bob, type="trip_update"),
        lambda f: f["data"] and f["data"][0]["count"] == 3,
    )
    assert kinds(found) == [("trip_update", 3, False)]
    update = found["data"][0]["id"]
    read = client.put(f"/api/v1/notifications/{update}/read/", headers=auth(bob))
    assert read.status_code == 200, read.text
    assert read.json()["data"]["is_read"] is True
    assert inbox(client, bob, is_read=False, type="trip_update")["data"] == []  # read at once
    changed = client.patch(f"/api/v1/trips/{trip_id}/", json={"title": "Lagos"}, headers=auth(ada))
    assert changed.status_code == 200
    found = eventually(
        lambda: inbox(client, bob, type="trip_update"), lambda f: len(f["data"]) == 2
    )
    assert kinds(found) == [("trip_update", 1, False), ("trip_update", 3, True)]


def test_messages_notify_members_with_no_socket_on_the_room(
    client: TestClient, signup: Signup
) -> None:
    ada, bob, cat = signup(), signup(), signup()
    trip_id = trip_of(client, ada, bob, cat)
    with client.websocket_connect(f"/ws/chat/{trip_id}/", headers=auth(cat)) as ws:
        subscribed(ws, trip_id)  # cat has the room open
        post(client, trip_id, ada, "first")
        post(client, trip_id, ada, "second")
        found = eventually(
            lambda: inbox(client, bob, type="message"),
            lambda f: f["data"] and f["data"][0]["count"] == 2,
        )
    (message,) = found["data"]
    assert message["message"].endswith(": second") and message["title"] == "New messages in Lisbon"
    assert inbox(client, cat, type="message")["data"] == []
    assert inbox(client, ada, type="message")["data"] == []  # the sender

    def room(user: dict[str, str]) -> Any:
        return client.get(f"/api/v1/chat/rooms/{trip_id}/", headers=auth(user)).json()["data"]

    assert (room(bob)["unread_count"], room(cat)["unread_count"]) == (2, 0)
    with client.websocket_connect(f"/ws/chat/{trip_id}/", headers=auth(bob)) as ws:
        subscribed(ws, trip_id)  # bob opens the room: what he had not read is seen
    found = eventually(
        lambda: inbox(client, bob, type="message"), lambda f: f["data"][0]["is_read"]
    )
    assert room(bob)["unread_count"] == 0


def test_read_all_reads_what_came_so_far_and_only_the_recipient_marks(
    client: TestClient, signup: Signup
) -> None:
    ada, bob = signup(), signup()
    trip_id = trip_of(client, ada, bob)
    post(client, trip_id, ada, "hello")
    eventually(lambda: inbox(client, bob), lambda f: f["meta"]["unread_count"] == 2)
    theirs = inbox(client, bob)["data"][0]["id"]
    refused = client.put(f"/api/v1/notifications/{theirs}/read/", headers=auth(ada))
    assert (refused.status_code, refused.json()["error"]["code"]) == (404, "notification_not_found")
    unknown = client.put(f"/api/v1/notifications/{uuid.uuid4()}/read/", headers=auth(bob))
    assert unknown.status_code == 404
    done = client.put("/api/v1/notifications/read-all/", headers=auth(bob))
    assert done.status_code == 200, done.text
    assert done.json()["data"]["unread_count"] == 0
    after = inbox(client, bob)
    assert after["meta"]["unread_count"] == 0 and all(n["is_read"] for n in after["data"])
    post(client, trip_id, ada, "later")
    found = eventually(lambda: inbox(client, bob, is_read=False), lambda f: f["data"])
    assert kinds(found) == [("message", 1, False)]


def test_read_state_survives_a_rebuild_of_the_notifications(
    client: TestClient, signup: Signup, api_settings: Settings
) -> None:
    ada, bob = signup(), signup()
    trip_id = trip_of(client, ada, bob)
    for title in ("Porto", "Braga"):
        assert (
            client.patch(
                f"/api/v1/trips/{trip_id}/", json={"title": title}, headers=auth(ada)
            ).status_code
            == 200
        )
    found = eventually(
        lambda: inbox(client, bob),
        lambda f: (
            [n["type"] for n in f["data"]] == ["trip_update", "trip_invite"]
            and f["data"][0]["count"] == 2
        ),
    )
    invite = found["data"][1]["id"]
    assert client.put(f"/api/v1/notifications/{invite}/read/", headers=auth(bob)).status_code == 200
    before = inbox(client, bob)["data"]
    env = {**os.environ, "ITINERA_DATABASE_URL": str(api_settings.database_url)}
    rebuilt = subprocess.run(
        [ITINERA, "rebuild", "notifications"], env=env, capture_output=True, text=True, timeout=120
    )
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert inbox(client, bob)["data"] == before
    assert [(n["type"], n["is_read"]) for n in before] == [
        ("trip_update", False),
        ("trip_invite", True),
    ]


def test_new_notifications_are_pushed_to_the_users_sockets(
    client: TestClient, signup: Signup
) -> None:
    ada, bob = signup(), signup()
    with client.websocket_connect("/ws/notifications/", headers=auth(bob)) as ws:
        assert ws.receive_json() == {"type": "subscription_success", "unread_count": 0}
        trip_id = trip_of(client, ada, bob)
        pushed = past_pokes(ws, trip_id)
        assert pushed["type"] == "notification" and pushed["unread_count"] == 1
        assert pushed["notification"]["type"] == "trip_invite"
        assert pushed["notification"]["related_trip"] == trip_id
        ws.send_json({"type": "ping"})
        assert past_pokes(ws, trip_id) == {"type": "pong"}
    with client.websocket_connect("/ws/notifications/?token=forged") as ws:
        with pytest.raises(Exception) as closed:
            ws.receive_json()
        assert getattr(closed.value, "code", None) == 4001


@pytest.fixture
def reminding_client(api_settings: Settings) -> Iterator[TestClient]:
    fast = api_settings.model_copy(
        update={"reminder_check_seconds": 0.2, "reminder_lead_minutes": 60}
    )
    with TestClient(create_app(fast), raise_server_exceptions=False) as client:
        yield client


def test_members_are_reminded_of_an_activity_once_per_start_instant(
    reminding_client: TestClient, signup: Signup
) -> None:
    client = reminding_client
    ada, bob = signup(), signup()
    today = datetime.now(UTC).date()
    trip = client.post(
        "/api/v1/trips/",
        json={"title": "Now", "start_date": str(today), "end_date": str(today + timedelta(days=3))},
        headers=auth(ada),
    ).json()["data"]["id"]
    added = client.post(
        f"/api/v1/trips/{trip}/members/",
        json={"user_id": bob["X-User"], "role": "viewer"},
        headers=auth(ada),
    )
    assert added.status_code == 201, added.text
    destination = client.post(
        "/api/v1/destinations/",
        json={
            "trip_id": trip,
            "name": "Here",
            "location": {"lat": 0.0, "lng": 0.0},
            "arrival_date": str(today),
            "departure_date": str(today + timedelta(days=3)),
            "time_zone": "UTC",
        },
        headers=auth(ada),
    )
    assert destination.status_code == 201, destination.text

    def at(minutes: int) -> dict[str, str]:
        moment = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=minutes)
        return {"local": moment.isoformat(timespec="minutes"), "time_zone": "UTC"}

    far = client.post(
        "/api/v1/activities/",
        json={
            "destination_id": destination.json()["data"]["id"],
            "title": "Dinner",
            "activity_type": "restaurant",
            "start": at(24 * 60),  # tomorrow: not yet
        },
        headers=auth(ada),
    )
    assert far.status_code == 201, far.text
    activity = far.json()["data"]["id"]
    time.sleep(1)
    assert inbox(client, bob, type="activity_reminder")["data"] == []
    moved = client.patch(
        f"/api/v1/activities/{activity}/", json={"start": at(30)}, headers=auth(ada)
    )
    assert moved.status_code == 200, moved.text
    for user in (ada, bob):  # everyone on the trip, the one who moved it too
        found = eventually(
            lambda u=user: inbox(client, u, type="activity_reminder"), lambda f: f["data"]
        )
        assert [n["title"] for n in found["data"]] == ["Dinner starts soon"]
    time.sleep(1)  # more ticks remind no one again
    assert len(inbox(client, bob, type="activity_reminder")["data"]) == 1
    moved = client.patch(
        f"/api/v1/activities/{activity}/", json={"start": at(45)}, headers=auth(ada)
    )
    assert moved.status_code == 200, moved.text
    eventually(lambda: inbox(client, bob, type="activity_reminder"), lambda f: len(f["data"]) == 2)
