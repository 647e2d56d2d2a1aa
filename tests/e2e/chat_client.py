"""A WebSocket chat client for end-to-end tests (the `websockets` library, real sockets)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.waiting import eventually

WAIT = 15.0
NOTICES = ("user_joined", "user_left", "user_typing")


def chat_url(base_url: str, trip_id: str, **query: str) -> str:
    url = base_url.replace("http://", "ws://", 1) + f"/ws/chat/{trip_id}/"
    return f"{url}?{urlencode(query)}" if query else url


def open_socket(url: str, headers: dict[str, str] | None = None) -> ClientConnection:
    return connect(url, additional_headers=headers, open_timeout=WAIT, close_timeout=2)


def next_of(socket: ClientConnection, kind: str, *, skip: tuple[str, ...] = NOTICES) -> Any:
    """The next message of type `kind`, past any notices."""
    while True:
        message = json.loads(socket.recv(timeout=WAIT))
        if message["type"] == kind:
            return message
        assert message["type"] in skip, message


def subscribe(socket: ClientConnection, trip_id: str, **more: Any) -> Any:
    socket.send(json.dumps({"type": "subscribe", "trip_id": trip_id, **more}))
    return next_of(socket, "subscription_success")


def close_code(socket: ClientConnection) -> int:
    """How the server closed the socket (waiting for it to)."""
    try:
        while True:
            socket.recv(timeout=WAIT)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "closed without a close frame"
        return closed.rcvd.code


def me(client: httpx.Client, headers: dict[str, str]) -> str:
    return str(client.get("/api/v1/users/me", headers=headers).json()["data"]["id"])


def trip_with(client: httpx.Client, owner: dict[str, str], *members: str) -> str:
    created = client.post(
        "/api/v1/trips/",
        headers=owner,
        json={"title": "Chat", "start_date": "2027-05-01", "end_date": "2027-05-05"},
    )
    assert created.status_code == 201, created.text
    trip_id = str(created.json()["data"]["id"])
    for user_id in members:
        added = client.post(
            f"/api/v1/trips/{trip_id}/members/",
            headers=owner,
            json={"user_id": user_id, "role": "editor"},
        )
        assert added.status_code == 201, added.text
    return trip_id


def announced(client: httpx.Client, user: dict[str, str], trip_id: str, count: int) -> None:
    """Wait until the room holds `count` system messages (joins and leaves)."""

    def holds_them() -> None:
        found = client.get(f"/api/v1/chat/rooms/{trip_id}/messages", headers=user)
        if found.status_code != 200:  # a failure, not a wait: not asked again
            raise RuntimeError(found.text)
        system = [m for m in found.json()["data"] if m["message_type"] == "system"]
        assert len(system) >= count, f"{len(system)} of {count} announcements"

    eventually(holds_them, timeout=WAIT, every=0.1)


def the_seeds_flow(
    base_url: str, client: httpx.Client, ada: dict[str, str], bob: dict[str, str]
) -> None:
    """Refusals with their close codes, then subscribe, broadcast (the sender included),
    typing to the others only, an edit, and an error that leaves the socket open."""
    trip_id = trip_with(client, ada, me(client, bob))
    # Bob's joining is announced in the room by a process manager, after the fact: wait for
    # it, so that it does not arrive in the middle of the live exchange below.
    announced(client, ada, trip_id, count=1)
    with open_socket(chat_url(base_url, trip_id)) as refused:
        assert close_code(refused) == 4001
    with open_socket(chat_url(base_url, trip_id, token="forged")) as refused:
        assert close_code(refused) == 4001
    elsewhere = trip_with(client, bob)
    with open_socket(chat_url(base_url, elsewhere), ada) as refused:  # not a member
        assert close_code(refused) == 4003
    token = ada["Authorization"].removeprefix("Bearer ")
    with (
        open_socket(chat_url(base_url, trip_id, token=token)) as ada_socket,
        open_socket(chat_url(base_url, trip_id), bob) as bob_socket,
    ):
        subscribe(ada_socket, trip_id)
        subscribe(bob_socket, trip_id)
        bob_socket.send(json.dumps({"type": "typing", "trip_id": trip_id, "is_typing": True}))
        assert next_of(ada_socket, "user_typing", skip=("user_joined",))["is_typing"] is True
        ada_socket.send(json.dumps({"type": "chat_message", "content": "Hello, team!"}))
        for socket in (ada_socket, bob_socket):
            message = next_of(socket, "chat_message")["message"]
            assert message["content"] == "Hello, team!"
            assert set(message["sender"]) == {"id", "username", "avatar"}
        ada_socket.send(
            json.dumps({"type": "edit_message", "message_id": message["id"], "content": "Hi!"})
        )
        assert next_of(bob_socket, "message_edited")["content"] == "Hi!"
        bob_socket.send("{")
        assert next_of(bob_socket, "error")["code"] == "invalid_message_format"
        bob_socket.send(json.dumps({"type": "ping"}))
        assert next_of(bob_socket, "pong") == {"type": "pong"}
