"""A poison event parks one trip, through the API in embedded mode over a real PostgreSQL:
every other trip keeps flowing, the parked trip is served as stale and never to someone the
event store says was removed, and operators see it, retry it, or skip the event."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from infra.database import prepare_database
from infra.identity.keys import rotate_key
from infra.settings import Settings
from tests.faults import FAULT_FILE
from tests.integration.conftest import PASSWORD
from tests.integration.engine_support import engine_stack
from tests.integration.test_api import TRIP, data

pytestmark = pytest.mark.integration


@pytest.fixture
def fault(tmp_path: Path, monkeypatch) -> Path:
    """While this file exists, a title change to a title holding POISON fails to project."""
    flag = tmp_path / "fault"
    flag.touch()
    monkeypatch.setenv(FAULT_FILE, str(flag))
    return flag


@pytest.fixture
def poisoned_settings(database_url: str, redis_url: str, tmp_path: Path, fault) -> Settings:
    rotate_key(tmp_path / "keys")
    settings = Settings(
        database_url=database_url,
        project_in_process=True,
        redis_url=redis_url,
        redis_namespace=f"itinera-test-{uuid.uuid4().hex[:8]}",
        keys_dir=tmp_path / "keys",
        projection_wrapper="tests.faults:poison_titles_while_fault_file_exists",
        projection_retry_backoff=0.01,
    )
    prepare_database(settings)
    return settings


@pytest.fixture
def api(poisoned_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(poisoned_settings), raise_server_exceptions=False) as client:
        yield client


def sign_up(client: TestClient) -> dict[str, str]:
    name = f"u{uuid.uuid4().hex[:10]}"
    registered = client.post(
        "/api/v1/auth/register",
        json={"email": f"{name}@example.org", "username": name, "password": PASSWORD},
    )
    token = client.post("/api/v1/auth/login", json={"login": name, "password": PASSWORD})
    return {
        "Authorization": f"Bearer {token.json()['data']['access_token']}",
        "id": registered.json()["data"]["id"],
    }


def auth(user: dict[str, str]) -> dict[str, str]:
    return {"Authorization": user["Authorization"]}


def read(client: TestClient, path: str, user: dict[str, str], **params: Any) -> Any:
    return client.get(path, params=params, headers=auth(user))


async def letters_when(stack: Any, count: int, timeout: float = 10) -> list[Any]:
    """The dead letters, once there are `count` of them (the projector runs beside us)."""
    deadline = time.monotonic() + timeout
    while len(letters := await stack.engine.dead_letters().entries()) < count:
        assert time.monotonic() < deadline, letters
        await asyncio.sleep(0.02)
    return letters


@pytest.mark.anyio
async def test_a_poison_event_parks_its_trip_alone_and_reads_stay_safe(
    api: TestClient, poisoned_settings: Settings, fault: Path
) -> None:
    owner, friend = sign_up(api), sign_up(api)
    sick = data(api.post("/api/v1/trips", json=TRIP, headers=auth(owner)), 201)["id"]
    healthy = data(api.post("/api/v1/trips", json=TRIP, headers=auth(owner)), 201)["id"]
    data(
        api.post(
            f"/api/v1/trips/{sick}/members",
            json={"user_id": friend["id"], "role": "viewer"},
            headers=auth(owner),
        ),
        201,
    )
    data(read(api, f"/api/v1/trips/{sick}", friend, min_version=2), 200)  # a member reads it

    poisoned = data(
        api.patch(f"/api/v1/trips/{sick}", json={"title": "POISON"}, headers=auth(owner)), 200
    )
    removed = data(
        api.delete(f"/api/v1/trips/{sick}/members/{friend['id']}", headers=auth(owner)), 200
    )
    fine = data(
        api.patch(f"/api/v1/trips/{healthy}", json={"title": "Fine"}, headers=auth(owner)), 200
    )

    # The other trip flows.
    other = read(api, f"/api/v1/trips/{healthy}", owner, min_version=fine["version"])
    assert data(other, 200)["title"] == "Fine" and other.json()["meta"]["stale"] is False

    # The parked trip is served as stale at the version before the poison, at once.
    stale = read(api, f"/api/v1/trips/{sick}", owner, min_version=removed["version"])
    view = data(stale, 200)
    assert stale.json()["meta"]["stale_reason"] == "projection_parked"
    assert view["version"] == poisoned["version"] - 1 and view["title"] == TRIP["title"]
    assert friend["id"] in [m["user_id"] for m in view["members"]]  # the stale view says so

    # ... but the removal is in the event store: the removed member reads nothing.
    assert read(api, f"/api/v1/trips/{sick}", friend).status_code == 404
    assert read(api, f"/api/v1/trips/{sick}/members", friend).status_code == 404
    assert data(read(api, "/api/v1/trips", friend), 200) == []
    listed = data(read(api, "/api/v1/trips", owner), 200)
    assert {t["trip_id"] for t in listed} == {sick, healthy}

    async with engine_stack(poisoned_settings.database_url or "") as stack:
        await letters_when(stack, 2)  # the event behind the poison is parked too
    health = api.get("/health/projections").json()["data"]
    trips = next(p for p in health["projections"] if p["name"] == "trip_views")
    assert (trips["status"], trips["parked"], trips["dead_letters"]) == ("parked", 1, 2)
    assert health["status"] == "degraded"
    assert sick not in str(health)  # public: no ids

    # An operator fixes the fault and retries the dead letter: the trip is exact again.
    async with engine_stack(poisoned_settings.database_url or "") as stack:
        letters = await letters_when(stack, 2)
        assert [(str(x.aggregate_id), x.aggregate_version, x.failed) for x in letters] == [
            (sick, poisoned["version"], True),
            (sick, removed["version"], False),
        ]
        fault.unlink()
        resolution = await stack.engine.dead_letters().retry(letters[0].id, "ops")
        assert resolution.failure is None
        assert await stack.engine.dead_letters().entries() == []
    fresh = read(api, f"/api/v1/trips/{sick}", owner, min_version=removed["version"])
    assert fresh.json()["meta"]["stale"] is False
    assert data(fresh, 200)["title"] == "POISON"
    assert friend["id"] not in [m["user_id"] for m in data(fresh, 200)["members"]]
    assert api.get("/health/projections").json()["data"]["status"] == "ok"


@pytest.mark.anyio
async def test_skipping_a_dead_letter_records_who_and_rebuilds_the_trip_without_it(
    api: TestClient, poisoned_settings: Settings
) -> None:
    owner = sign_up(api)
    trip = data(api.post("/api/v1/trips", json=TRIP, headers=auth(owner)), 201)["id"]
    data(api.patch(f"/api/v1/trips/{trip}", json={"title": "POISON"}, headers=auth(owner)), 200)
    after = data(
        api.patch(f"/api/v1/trips/{trip}", json={"description": "later"}, headers=auth(owner)),
        200,
    )

    async with engine_stack(poisoned_settings.database_url or "") as stack:
        failed, waiting = await letters_when(stack, 2)
        with pytest.raises(LookupError):  # only the event that failed can be skipped
            await stack.engine.dead_letters().skip(waiting.id, "ops", "")
        resolution = await stack.engine.dead_letters().skip(failed.id, "ada", "title bug #12")
        assert resolution.failure is None
        async with stack.pool.connection() as conn:
            skips = await (
                await conn.execute("SELECT skipped_by, reason FROM projection_skips")
            ).fetchall()
            operations = await (
                await conn.execute("SELECT action, actor FROM projection_operations")
            ).fetchall()
        assert skips == [("ada", "title bug #12")]
        assert operations == [("skip", "ada")]

        # The trip is complete but for the skipped event, and a rebuild keeps skipping it.
        view = data(read(api, f"/api/v1/trips/{trip}", owner, min_version=after["version"]), 200)
        assert (view["title"], view["description"]) == (TRIP["title"], "later")
        before = await stack.rows("trip_views")
        await stack.engine.rebuild(stack.unit("trip_views"))
        assert await stack.rows("trip_views") == before
