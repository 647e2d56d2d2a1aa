"""What clients see when Redis or the revocation write fails: a clear 503 with Retry-After,
never a 500, never a token accepted on a guess, and nothing that must last kept in Redis.

Redis is reached through a proxy the tests cut (connections reset and refused) or stall
(connections open, nothing answers); PostgreSQL and Redis are real."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from fastapi.testclient import TestClient

from api.main import create_app
from infra.database import build_event_store
from infra.settings import Settings
from tests.e2e.proxy import CuttableProxy
from tests.integration.conftest import PASSWORD, prepared_settings
from write_side.context import CommandContext, acting_as
from write_side.identity.passwords import hash_password
from write_side.identity.user import User

pytestmark = pytest.mark.integration


def data(response: Any, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "dependency_unavailable"
    assert int(response.headers["retry-after"]) >= 1


def login(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/login", json={"login": name, "password": password})


def register(client: TestClient, name: str) -> Any:
    body = {"email": f"{name}@example.org", "username": name, "password": PASSWORD}
    return client.post("/api/v1/auth/register", json=body)


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def new_trip(client: TestClient, headers: dict[str, str]) -> Any:
    body = {"title": "Lisbon", "start_date": "2027-05-01", "end_date": "2027-05-04"}
    return client.post("/api/v1/trips/", json=body, headers=headers)


@pytest.fixture
def proxied(
    database_url: str, redis_url: str, redis_proxy: CuttableProxy, tmp_path: Path
) -> Settings:
    """As `api_settings`, with Redis reached through the proxy."""
    db = urlsplit(redis_url).path or "/0"
    through = f"redis://127.0.0.1:{redis_proxy.listen_port}{db}"
    return prepared_settings(database_url, through, tmp_path)


@pytest.fixture
def api(proxied: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(proxied), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("outage", ["cut", "stall"])
def test_without_redis_limited_requests_get_503_and_reads_go_on(
    api: TestClient, redis_proxy: CuttableProxy, outage: str
) -> None:
    data(register(api, "ada"), 201)
    tokens = data(login(api, "ada"), 200)
    trip = data(new_trip(api, bearer(tokens)), 201)

    getattr(redis_proxy, outage)()
    unavailable(login(api, "ada"))
    unavailable(api.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}))
    unavailable(register(api, "bob"))
    unavailable(new_trip(api, bearer(tokens)))
    # Authentication needs no Redis: revocations live in PostgreSQL.
    assert data(api.get(f"/api/v1/trips/{trip['id']}", headers=bearer(tokens)), 200)

    if outage == "stall":
        redis_proxy.unstall()
    else:
        redis_proxy.restore()
    data(login(api, "ada"), 200)
    data(new_trip(api, bearer(tokens)), 201)


def test_a_logout_outlives_redis_losing_everything(
    api: TestClient, proxied: Settings, redis_url: str
) -> None:
    data(register(api, "ada"), 201)
    tokens = data(login(api, "ada"), 200)
    body = {"refresh_token": tokens["refresh_token"]}
    data(api.post("/api/v1/auth/logout", json=body, headers=bearer(tokens)), 200)

    wiped = redis.Redis.from_url(redis_url)
    for key in wiped.scan_iter(f"{proxied.redis_namespace}:*"):
        wiped.delete(key)

    assert api.get("/api/v1/users/me", headers=bearer(tokens)).status_code == 401
    assert api.post("/api/v1/auth/refresh", json=body).status_code == 401


def test_a_password_change_ends_old_sessions_even_if_its_revocation_write_was_lost(
    api: TestClient, proxied: Settings
) -> None:
    """The process dies between committing PasswordChanged and writing the revocation:
    the credentials projection still ends the sessions issued before the change."""
    user_id = data(register(api, "ada"), 201)["id"]
    tokens = data(login(api, "ada"), 200)

    events = build_event_store(proxied)
    user = events.find(uuid.UUID(user_id), User)
    assert user is not None
    with acting_as(CommandContext(actor_id=user.id, correlation_id=uuid.uuid4())):
        user.change_password(hash_password("a brand new passphrase"))
    events.save(user)  # and no revocation written: the crash

    deadline = time.monotonic() + 10
    while api.get("/api/v1/users/me", headers=bearer(tokens)).status_code == 200:
        assert time.monotonic() < deadline, "the old session outlived the password change"
        time.sleep(0.05)
    assert api.get("/api/v1/users/me", headers=bearer(tokens)).status_code == 401
    assert (
        api.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        ).status_code
        == 401
    )
    data(login(api, "ada", "a brand new passphrase"), 200)


def test_successful_logins_never_lock_an_account_out(
    client: TestClient, api_settings: Settings
) -> None:
    data(register(client, "ada"), 201)
    for _ in range(api_settings.login_attempts_per_account + 2):
        data(login(client, "ada"), 200)


def test_failed_logins_count_against_the_account_by_whichever_name(
    client: TestClient, api_settings: Settings
) -> None:
    data(register(client, "ada"), 201)
    names = ["ada", "ADA@example.org"]
    for attempt in range(api_settings.login_attempts_per_account):
        assert login(client, names[attempt % 2], "wrong password").status_code == 401
    throttled = login(client, "Ada", "wrong password")
    assert throttled.status_code == 429, throttled.text
    assert throttled.json()["error"]["code"] == "rate_limited"
    assert int(throttled.headers["retry-after"]) >= 1


def test_registrations_and_refreshes_are_throttled_per_address(api_settings: Settings) -> None:
    settings = api_settings.model_copy(
        update={"registrations_per_address": 2, "refreshes_per_address": 3}
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        data(register(client, "ada"), 201)
        data(register(client, "bob"), 201)
        assert register(client, "eve").status_code == 429
        refresh = data(login(client, "ada"), 200)["refresh_token"]
        for _ in range(3):
            refresh = data(
                client.post("/api/v1/auth/refresh", json={"refresh_token": refresh}), 200
            )["refresh_token"]
        throttled = client.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
        assert throttled.status_code == 429, throttled.text
