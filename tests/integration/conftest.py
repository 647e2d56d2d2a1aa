from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from infra.database import prepare_database
from infra.identity.keys import rotate_key
from infra.postgres.changes import PostgresChanges
from infra.settings import Settings
from tests.e2e.proxy import CuttableProxy
from tests.services import free_port
from tests.waiting import until

PASSWORD = "correct horse battery"

Signup = Callable[..., dict[str, str]]


def prepared_settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    """Embedded projections over real PostgreSQL, rate limits in the Redis at `redis_url`
    (a namespace of its own), a fresh signing key; the database migrated."""
    rotate_key(tmp_path / "keys")
    settings = Settings(
        database_url=database_url,
        project_in_process=True,
        redis_url=redis_url,
        redis_namespace=f"itinera-test-{uuid.uuid4().hex[:8]}",
        keys_dir=tmp_path / "keys",
        data_dir=tmp_path / "data",  # account mails land in its mailbox, not the checkout's
    )
    prepare_database(settings)
    return settings


@pytest.fixture
def api_settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    """Embedded projections over real PostgreSQL; rate limits in real Redis."""
    return prepared_settings(database_url, redis_url, tmp_path)


@pytest.fixture
def client(api_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def signup(client: TestClient) -> Signup:
    """Register a new user and log in; returns Authorization headers (plus the tokens)."""
    return signup_on(client)


def signup_on(client: TestClient) -> Signup:
    def signup(username: str | None = None) -> dict[str, str]:
        username = username or f"u{uuid.uuid4().hex[:10]}"
        registered = client.post(
            "/api/v1/auth/register/",
            json={"email": f"{username}@example.org", "username": username, "password": PASSWORD},
        )
        assert registered.status_code == 201, registered.text
        logged_in = client.post(
            "/api/v1/auth/login/", json={"login": username, "password": PASSWORD}
        )
        assert logged_in.status_code == 200, logged_in.text
        tokens = logged_in.json()["data"]
        return {
            "Authorization": f"Bearer {tokens['access_token']}",
            "X-Refresh-Token": tokens["refresh_token"],  # for tests only; the API ignores it
            "X-User": registered.json()["data"]["id"],
        }

    return signup


@pytest.fixture
def user(signup: Signup) -> dict[str, str]:
    headers = signup()
    return {"Authorization": headers["Authorization"]}


HEALTH_TIMEOUT = 0.5  # health probes of `through_proxy`'s app give up after this


@pytest.fixture
def through_proxy(
    database_url: str, redis_url: str, redis_proxy: CuttableProxy, tmp_path: Path
) -> Iterator[TestClient]:
    """The app with its Redis behind `redis_proxy` (so a test can cut or stall it), health
    probes bounded by HEALTH_TIMEOUT; server errors answered, not raised."""
    db = urlsplit(redis_url).path or "/0"
    settings = prepared_settings(
        database_url, f"redis://127.0.0.1:{redis_proxy.listen_port}{db}", tmp_path
    )
    settings = settings.model_copy(update={"health_timeout_seconds": HEALTH_TIMEOUT})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def redis_proxy(redis_url: str) -> Iterator[CuttableProxy]:
    """The test's Redis behind a proxy the test can cut (connections refused) or stall (open,
    nothing answers)."""
    proxy = CuttableProxy(free_port(), urlsplit(redis_url).port or 6379)
    yield proxy
    proxy.unstall()
    proxy.close()


@pytest.fixture
async def changes(database_url: str) -> AsyncIterator[PostgresChanges]:
    """The API's listener for projection commits and revocations, listening."""
    listening = PostgresChanges(database_url)
    await listening.start()
    try:
        await until(lambda: listening.listening, "the listener listening")
        yield listening
    finally:
        await listening.close()
