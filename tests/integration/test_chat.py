"""Trip chat over REST and the WebSocket, against real PostgreSQL and Redis (the app served
in-process by Starlette's test client; tests/e2e/test_live_processes.py does it over real
sockets between real processes)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from api.main import create_app
from infra.settings import Settings
from tests.integration.conftest import Signup

TRIP = {"title": "Lisbon", "start_date": "2027-05-01", "end_date": "2027-05-09"}


@pytest.fixture
def fast_recheck(api_settings: Settings) -> Settings:
    return api_settings.model_copy(update={"ws_recheck_seconds": 0.2})


@pytest.fixture
def client(fast_recheck: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(fast_recheck), raise_server_exceptions=False) as client:
        yield client


def trip_of(client: TestClient, owner: dict[str, str], *members: dict[str, str]) -> str:
    created = client.post("/api/v1/trips/", json=TRIP, headers=auth(owner))
    assert created.status_code == 201, created.text
    trip_id = str(created.json()["data"]["id"])
    for member in members:
        added = client.post(
            f"/api/v1/trips/{trip_id}/members/",
            json={"user_id": member["X-User"], "role": "viewer"},
            headers=auth(owner),
        )
        assert added.status_code == 201, added.text
    announced(client, trip_id, owner, len(members))
    return trip_id


def announced(client: TestClient, trip_id: str, user: dict[str, str], count: int) -> None:
    """Wait until the room holds `count` messages: each member added is announced by a
    system message, posted by the projector a moment after the member was added."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        room = client.get(f"/api/v1/chat/rooms/{trip_id}/", headers=auth(user))
        if room.json()["data"]["message_count"] >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{count} announcements were not posted")


def auth(user: dict[str, str]) -> dict[str, str]:
    return {"Authorization": user["Authorization"]}


def token(user: dict[str, str]) -> str:
    return user["Authorization"].removeprefix("Bearer ")


def post(client: TestClient, trip_id: str, user: dict[str, str], content: str, **more: Any) -> Any:
    response = client.post(
        f"/api/v1/chat/rooms/{trip_id}/messages/",
        json={"content": content, **more},
        headers=auth(user),
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


def history(client: TestClient, trip_id: str, user: dict[str, str], **params: Any) -> Any:
    response = client.get(
        f"/api/v1/chat/rooms/{trip_id}/messages/", params=params, headers=auth(user)
    )
    assert response.status_code == 200, response.text
    return response.json()


def receive_until(ws: WebSocketTestSession, kind: str) -> dict[str, Any]:
    """The next message of type `kind`, skipping join and leave notices."""
    while True:
        message: dict[str, Any] = ws.receive_json()
        if message["type"] == kind:
            return message
        assert message["type"] in ("user_joined", "user_left"), message


def subscribed(ws: WebSocketTestSession, trip_id: str, **more: Any) -> dict[str, Any]:
    ws.send_json({"type": "subscribe", "trip_id": trip_id, **more})
    return receive_until(ws, "subscription_success")


def closed_with(ws: WebSocketTestSession) -> int:
    with pytest.raises(WebSocketDisconnect) as closed:
        while True:
            ws.receive_json()
    return closed.value.code


# --- REST ------------------------------------------------------------------------------------


def test_a_posted_message_has_the_seeds_shape_and_is_in_the_next_history_read(
    client: TestClient, signup: Signup
) -> None:
    ada = signup("ada" + uuid.uuid4().hex[:6])
    trip_id = trip_of(client, ada)
    message = post(client, trip_id, ada, "Hello, team!")
    assert message["sender"] == {
        "id": ada["X-User"],
        "username": message["sender"]["username"],
        "avatar": "",
    }
    assert message["sender"]["username"].startswith("ada")
    assert (message["content"], message["is_edited"], message["seq"]) == ("Hello, team!", False, 1)
    assert (message["message_type"], message["reply_to"]) == ("text", None)
    assert message["created_at"]
    read = history(client, trip_id, ada)
    assert [m["id"] for m in read["data"]] == [message["id"]]
    assert read["meta"]["stale"] is False
    room = client.get(f"/api/v1/chat/rooms/{trip_id}/", headers=auth(ada)).json()["data"]
    assert (room["member_count"], room["message_count"]) == (1, 1)
    assert room["last_message"]["id"] == message["id"]


def test_history_pages_backwards_from_the_newest_and_forwards_from_a_mark(
    client: TestClient, signup: Signup
) -> None:
    ada = signup()
    trip_id = trip_of(client, ada)
    posted = [post(client, trip_id, ada, f"message {n}") for n in range(1, 8)]
    newest = history(client, trip_id, ada, limit=3)
    assert [m["seq"] for m in newest["data"]] == [5, 6, 7]
    assert newest["meta"]["next_before"] == 5
    older = history(client, trip_id, ada, limit=3, before=5)
    assert [m["seq"] for m in older["data"]] == [2, 3, 4]
    oldest = history(client, trip_id, ada, limit=3, before=2)
    assert [m["seq"] for m in oldest["data"]] == [1]
    assert oldest["meta"]["has_more"] is False
    by_id = history(client, trip_id, ada, after=posted[4]["id"])
    assert [m["seq"] for m in by_id["data"]] == [6, 7]
    assert history(client, trip_id, ada, after=7)["data"] == []


def test_a_room_is_for_members_only_even_on_a_public_trip(
    client: TestClient, signup: Signup
) -> None:
    ada, eve = signup(), signup()
    trip_id = trip_of(client, ada)
    public = client.patch(
        f"/api/v1/trips/{trip_id}/", json={"visibility": "public"}, headers=auth(ada)
    )
    assert public.status_code == 200, public.text
    assert client.get(f"/api/v1/trips/{trip_id}/", headers=auth(eve)).status_code == 200
    for response in (
        client.get(f"/api/v1/chat/rooms/{trip_id}/", headers=auth(eve)),
        client.get(f"/api/v1/chat/rooms/{trip_id}/messages/", headers=auth(eve)),
        client.post(
            f"/api/v1/chat/rooms/{trip_id}/messages/", json={"content": "hi"}, headers=auth(eve)
        ),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "trip_not_found"
    assert client.get(f"/api/v1/chat/rooms/{trip_id}/").status_code == 401


def test_only_the_sender_edits_and_bad_messages_are_refused_with_their_codes(
    client: TestClient, signup: Signup
) -> None:
    ada, bob = signup(), signup()
    trip_id, other_trip = trip_of(client, ada, bob), trip_of(client, ada)
    message = post(client, trip_id, ada, "Meet at 9")
    url = f"/api/v1/chat/rooms/{trip_id}/messages/{message['id']}/"
    refused = client.patch(url, json={"content": "Meet at 10"}, headers=auth(bob))
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "not_message_sender")
    edited = client.patch(url, json={"content": "Meet at 10"}, headers=auth(ada))
    assert edited.status_code == 200, edited.text
    assert (edited.json()["data"]["content"], edited.json()["data"]["is_edited"]) == (
        "Meet at 10",
        True,
    )
    elsewhere = post(client, other_trip, ada, "elsewhere")
    cases = [
        ({"content": ""}, 422, "validation_failed"),
        ({"content": "x" * 4001}, 422, "validation_failed"),
        ({"content": "hi", "message_type": "system"}, 422, "validation_failed"),
        ({"content": "hi", "reply_to": elsewhere["id"]}, 422, "reply_outside_room"),
        ({"content": "hi", "reply_to": str(uuid.uuid4())}, 422, "reply_outside_room"),
    ]
    for body, status, code in cases:
        response = client.post(
            f"/api/v1/chat/rooms/{trip_id}/messages/", json=body, headers=auth(ada)
        )
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body
    reply = post(client, trip_id, bob, "ok!", reply_to=message["id"])
    assert reply["reply_to"] == message["id"]
    stored = history(client, trip_id, ada)["data"]
    assert [(m["seq"], m["message_type"]) for m in stored] == [
        (1, "system"),  # bob joined
        (2, "text"),
        (3, "text"),
    ]


def test_a_retried_post_with_its_key_is_stored_once(client: TestClient, signup: Signup) -> None:
    ada = signup()
    trip_id = trip_of(client, ada)
    headers = {**auth(ada), "Idempotency-Key": "msg-1"}
    url = f"/api/v1/chat/rooms/{trip_id}/messages/"
    first = client.post(url, json={"content": "once"}, headers=headers)
    again = client.post(url, json={"content": "once"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    assert len(history(client, trip_id, ada)["data"]) == 1


# --- the socket ------------------------------------------------------------------------------


def test_the_socket_closes_4001_without_a_valid_token_and_4003_for_a_non_member(
    client: TestClient, signup: Signup
) -> None:
    ada, eve = signup(), signup()
    trip_id = trip_of(client, ada)
    for query in ("", "?token=not-a-token", f"?ticket={token(ada)}"):
        with client.websocket_connect(f"/ws/chat/{trip_id}/{query}") as ws:
            assert closed_with(ws) == 4001
    with client.websocket_connect(f"/ws/chat/{trip_id}/?token={token(eve)}") as ws:
        assert closed_with(ws) == 4003
    with client.websocket_connect(f"/ws/chat/{uuid.uuid4()}/", headers=auth(ada)) as ws:
        assert closed_with(ws) == 4003


def test_the_seeds_flow_history_broadcast_edit_and_typing(
    client: TestClient, signup: Signup
) -> None:
    ada, bob = signup(), signup()
    trip_id = trip_of(client, ada, bob)
    for n in range(1, 56):
        post(client, trip_id, ada, f"old {n}")
    with (
        client.websocket_connect(f"/ws/chat/{trip_id}/?token={token(ada)}") as ada_ws,
        client.websocket_connect(f"/ws/chat/{trip_id}/", headers=auth(bob)) as bob_ws,
    ):
        recent = subscribed(ada_ws, trip_id)["recent_messages"]
        assert [m["seq"] for m in recent] == list(range(7, 57))  # 1: bob joined
        assert recent[-1]["content"] == "old 55"
        subscribed(bob_ws, trip_id)
        joined = receive_until(ada_ws, "user_joined")
        assert joined["user_id"] == bob["X-User"]

        bob_ws.send_json({"type": "typing", "trip_id": trip_id, "is_typing": True})
        typing = receive_until(ada_ws, "user_typing")
        assert (typing["user_id"], typing["is_typing"]) == (bob["X-User"], True)

        ada_ws.send_json({"type": "chat_message", "content": "Hello, team!", "trip_id": trip_id})
        for ws in (ada_ws, bob_ws):
            sent = receive_until(ws, "chat_message")["message"]
            assert (sent["content"], sent["seq"], sent["sender"]["id"]) == (
                "Hello, team!",
                57,
                ada["X-User"],
            )
        ada_ws.send_json(
            {"type": "edit_message", "message_id": sent["id"], "content": "Hello, all!"}
        )
        for ws in (ada_ws, bob_ws):
            edited = receive_until(ws, "message_edited")
            assert (edited["message_id"], edited["content"]) == (sent["id"], "Hello, all!")
            assert edited["updated_at"]

        bob_ws.send_json({"type": "edit_message", "message_id": sent["id"], "content": "no"})
        assert receive_until(bob_ws, "error")["code"] == "not_message_sender"
        bob_ws.send_json({"type": "chat_message", "content": ""})
        assert receive_until(bob_ws, "error")["code"] == "invalid_message_format"
        bob_ws.send_text("not json")
        assert receive_until(bob_ws, "error")["code"] == "invalid_message_format"
        bob_ws.send_json({"type": "shout"})
        assert receive_until(bob_ws, "error")["code"] == "invalid_message_format"
        bob_ws.send_json({"type": "ping"})  # the connection stayed open through all of it
        assert receive_until(bob_ws, "pong") == {"type": "pong"}
    # A post is in the next read; an edit reaches the history within the projection's lag.
    deadline = time.monotonic() + 5
    while (stored := history(client, trip_id, ada, after=56)["data"])[0][
        "content"
    ] != "Hello, all!":
        assert time.monotonic() < deadline, stored
        time.sleep(0.05)
    assert [(m["content"], m["is_edited"]) for m in stored] == [("Hello, all!", True)]
    room = client.get(f"/api/v1/chat/rooms/{trip_id}/", headers=auth(ada)).json()["data"]
    assert room["message_count"] == 57  # typing, joins and errors were never stored


def test_a_reconnecting_client_gets_exactly_the_gap(client: TestClient, signup: Signup) -> None:
    ada, bob = signup(), signup()
    trip_id = trip_of(client, ada, bob)
    first = post(client, trip_id, ada, "one")
    with client.websocket_connect(f"/ws/chat/{trip_id}/", headers=auth(bob)) as ws:
        recent = subscribed(ws, trip_id)["recent_messages"]
        assert [m["seq"] for m in recent] == [1, 2]  # bob joined, one
    for content in ("two", "three"):
        post(client, trip_id, ada, content)
    with client.websocket_connect(f"/ws/chat/{trip_id}/", headers=auth(bob)) as ws:
        gap = subscribed(ws, trip_id, after=2)["recent_messages"]
        assert [m["content"] for m in gap] == ["two", "three"]
    with client.websocket_connect(f"/ws/chat/{trip_id}/", headers=auth(bob)) as ws:
        gap = subscribed(ws, trip_id, after=first["id"])["recent_messages"]
        assert [m["seq"] for m in gap] == [3, 4]


def test_a_ticket_opens_one_socket_once(client: TestClient, signup: Signup) -> None:
    ada = signup()
    trip_id = trip_of(client, ada)
    issued = client.post("/api/v1/chat/tickets/", headers=auth(ada))
    assert issued.status_code == 201, issued.text
    ticket = issued.json()["data"]["ticket"]
    assert issued.json()["data"]["expires_in"] == 30
    with client.websocket_connect(f"/ws/chat/{trip_id}/?ticket={ticket}") as ws:
        assert subscribed(ws, trip_id)["recent_messages"] == []
    with client.websocket_connect(f"/ws/chat/{trip_id}/?ticket={ticket}") as ws:
        assert closed_with(ws) == 4001
    assert client.post("/api/v1/chat/tickets/").status_code == 401


def test_a_removed_member_and_a_logged_out_token_are_disconnected(
    client: TestClient, signup: Signup
) -> None:
    ada, bob = signup(), signup()
    trip_id = trip_of(client, ada, bob)
    with client.websocket_connect(f"/ws/chat/{trip_id}/", headers=auth(bob)) as ws:
        subscribed(ws, trip_id)
        removed = client.delete(
            f"/api/v1/trips/{trip_id}/members/{bob['X-User']}/", headers=auth(ada)
        )
        assert removed.status_code == 200, removed.text
        started = time.monotonic()
        assert closed_with(ws) == 4003
        assert time.monotonic() - started < 5
    with client.websocket_connect(f"/ws/chat/{trip_id}/", headers=auth(ada)) as ws:
        subscribed(ws, trip_id)
        out = client.post("/api/v1/auth/logout/", headers=auth(ada))
        assert out.status_code in (200, 204), out.text
        assert closed_with(ws) == 4001


def test_joins_leaves_and_date_changes_are_announced_by_system_messages(
    client: TestClient, signup: Signup
) -> None:
    ada, bob = signup(), signup()
    trip_id = trip_of(client, ada)
    with client.websocket_connect(f"/ws/chat/{trip_id}/", headers=auth(ada)) as ws:
        subscribed(ws, trip_id)
        added = client.post(
            f"/api/v1/trips/{trip_id}/members/",
            json={"user_id": bob["X-User"], "role": "editor"},
            headers=auth(ada),
        )
        assert added.status_code == 201, added.text
        live = receive_until(ws, "chat_message")["message"]  # poked, then read from the store
        assert (live["message_type"], live["seq"]) == ("system", 1)
        assert live["content"].endswith("joined the trip")
        assert live["sender"]["id"] == ada["X-User"]
        moved = client.patch(
            f"/api/v1/trips/{trip_id}/", json={"end_date": "2027-05-12"}, headers=auth(ada)
        )
        assert moved.status_code == 200, moved.text
        dates = receive_until(ws, "chat_message")["message"]
        assert dates["content"] == "The trip now ends on 2027-05-12"
        renamed = client.patch(
            f"/api/v1/trips/{trip_id}/", json={"title": "Porto"}, headers=auth(ada)
        )
        assert renamed.status_code == 200, renamed.text
        left = client.delete(f"/api/v1/trips/{trip_id}/members/{bob['X-User']}/", headers=auth(bob))
        assert left.status_code == 200, left.text
        gone = receive_until(ws, "chat_message")["message"]
        assert gone["content"].endswith("left the trip")
        assert gone["sender"]["id"] == bob["X-User"]
    stored = history(client, trip_id, ada)["data"]
    assert [m["seq"] for m in stored] == [1, 2, 3]  # the title change said nothing to the room
    assert all(m["message_type"] == "system" for m in stored)
    edit = client.patch(
        f"/api/v1/chat/rooms/{trip_id}/messages/{stored[0]['id']}/",
        json={"content": "forged"},
        headers=auth(ada),
    )
    assert (edit.status_code, edit.json()["error"]["code"]) == (422, "system_message")
