"""What an operator reads of a request: every command logged once with its facts as JSON
fields, and no credential, email or message content anywhere in the process's log, even at
DEBUG, neither in what the code handed to `logging` nor in what it wrote."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from infra.observability.logs import configure_logging
from infra.settings import Settings
from tests.integration.conftest import PASSWORD

pytestmark = pytest.mark.integration

FORGED_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJub2JvZHkifQ.Zm9yZ2VkLXNpZ25hdHVyZQ"


class Raw(logging.Handler):
    """Keeps what each call handed to `logging`, before our handler's redaction sees it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name} {record.getMessage()} {record.__dict__!r}"
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.seen.append(text)


class Logs:
    def __init__(self, raw: Raw, written: io.StringIO) -> None:
        self.raw = raw
        self.written = written

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.written.getvalue().splitlines()]

    def commands(self, entity: str = "trip") -> list[dict[str, Any]]:
        return [
            line
            for line in self.lines()
            if line["logger"] == "itinera.commands" and line["entity"] == entity
        ]

    def everything(self) -> str:
        return self.written.getvalue() + "\n".join(self.raw.seen)


@pytest.fixture
def logs() -> Iterator[Logs]:
    """The API's logging as a role sets it up (JSON, role `api`), at DEBUG, into memory."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    raw, written = Raw(), io.StringIO()
    root.addHandler(raw)  # before ours: sees each record as it was logged
    configure_logging(Settings(log_format="json", log_level="DEBUG"), "api", written)
    try:
        yield Logs(raw, written)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_a_command_logs_actor_action_entity_id_correlation_id_and_version_as_fields(
    client: TestClient, user: dict[str, str], logs: Logs
) -> None:
    me = client.get("/api/v1/users/me", headers=user).json()["data"]
    correlation_id = str(uuid.uuid4())
    created = client.post(
        "/api/v1/trips",
        headers={**user, "X-Correlation-Id": correlation_id},
        json={"title": "Oslo", "start_date": "2027-01-01", "end_date": "2027-01-03"},
    )
    assert created.status_code == 201, created.text
    trip_id = created.json()["data"]["id"]
    renamed = client.patch(f"/api/v1/trips/{trip_id}", headers=user, json={"title": "Bergen"})
    assert renamed.status_code == 200, renamed.text

    create, update = logs.commands()
    assert create == {
        "timestamp": create["timestamp"],
        "level": "INFO",
        "role": "api",
        "logger": "itinera.commands",
        "message": f"create trip {trip_id}",
        "actor": me["id"],
        "action": "create",
        "entity": "trip",
        "entity_id": trip_id,
        "correlation_id": correlation_id,
        "trip_id": trip_id,
        "version": 1,
        "replayed": False,
    }
    assert update["action"] == "update" and update["version"] == 2
    assert update["actor"] == me["id"] and update["entity_id"] == trip_id
    assert update["correlation_id"] != correlation_id  # one per request unless given


def test_a_replayed_command_is_logged_as_replayed(
    client: TestClient, user: dict[str, str], logs: Logs
) -> None:
    keyed = {**user, "Idempotency-Key": str(uuid.uuid4())}
    trip = {"title": "Oslo", "start_date": "2027-01-01", "end_date": "2027-01-03"}
    for _ in range(2):
        assert client.post("/api/v1/trips", headers=keyed, json=trip).status_code == 201
    first, second = logs.commands()
    assert (first["replayed"], second["replayed"]) == (False, True)
    assert first["entity_id"] == second["entity_id"] and second["version"] == 1


def test_no_password_email_token_ticket_or_message_content_is_ever_logged(
    client: TestClient, logs: Logs
) -> None:
    username = f"u{uuid.uuid4().hex[:10]}"
    email = f"{username}@example.org"
    registered = client.post(
        "/api/v1/auth/register/",
        json={"email": email, "username": username, "password": PASSWORD},
    )
    assert registered.status_code == 201, registered.text
    wrong = client.post("/api/v1/auth/login/", json={"login": email, "password": PASSWORD + "x"})
    assert wrong.status_code == 401
    login = client.post("/api/v1/auth/login/", json={"login": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens = login.json()["data"]
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    refreshed = client.post(
        "/api/v1/auth/refresh/", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    trip = client.post(
        "/api/v1/trips",
        headers=headers,
        json={"title": "Oslo", "start_date": "2027-01-01", "end_date": "2027-01-03"},
    ).json()["data"]
    content = f"meet at the fjord {uuid.uuid4().hex}"
    posted = client.post(
        f"/api/v1/chat/rooms/{trip['id']}/messages", headers=headers, json={"content": content}
    )
    assert posted.status_code == 201, posted.text
    ticket = client.post("/api/v1/chat/tickets", headers=headers).json()["data"]["ticket"]
    with client.websocket_connect(f"/ws/chat/{trip['id']}?ticket={ticket}") as socket:
        socket.close()
    forged = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {FORGED_JWT}"})
    assert forged.status_code == 401
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect(f"/ws/chat/{trip['id']}?token={FORGED_JWT}") as socket,
    ):
        socket.receive_json()

    user_id = registered.json()["data"]["id"]
    register, log_in = logs.commands("user")
    assert (register["action"], register["entity_id"], register["actor"]) == (
        "register",
        user_id,
        user_id,
    )
    assert log_in["action"] == "login" and log_in["correlation_id"]
    lines = logs.lines()
    assert any(line["message"].startswith("authentication failed: ") for line in lines)
    written = logs.everything()
    secrets = {
        "password": PASSWORD,
        "email": email,
        "access token": tokens["access_token"],
        "refresh token": tokens["refresh_token"],
        "refreshed token": refreshed.json()["data"]["access_token"],
        "forged token": FORGED_JWT,
        "ticket": ticket,
        "message content": content,
    }
    for what, secret in secrets.items():
        assert secret not in written, f"the {what} was logged"
