"""Idempotency-Key on POST, through the API over real PostgreSQL: a command runs once per key,
whatever crashed or raced."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from uuid import UUID, uuid4

from fastapi.testclient import TestClient

from api.idempotency import IdempotencyKey
from api.schemas import CreateDestinationBody
from infra.database import build_event_store
from infra.settings import Settings
from tests.integration.test_api import KYOTO, TRIP, data, error
from write_side.context import CommandContext
from write_side.trips.commands import AddDestination
from write_side.trips.planner import TripPlanner


def test_a_retry_with_the_same_key_gets_the_first_response_and_no_second_trip(
    client: TestClient, user: dict[str, str]
) -> None:
    headers = {**user, "Idempotency-Key": "plan-japan-1"}
    first = client.post("/api/v1/trips", json=TRIP, headers=headers)
    again = client.post("/api/v1/trips/", json=TRIP, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["data"] == first.json()["data"]
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    trip_id = first.json()["data"]["id"]
    client.get(f"/api/v1/trips/{trip_id}?min_version=1", headers=user)
    assert [t["trip_id"] for t in data(client.get("/api/v1/trips", headers=user), 200)] == [trip_id]


def test_the_same_key_with_another_body_is_refused(
    client: TestClient, user: dict[str, str]
) -> None:
    headers = {**user, "Idempotency-Key": "k1"}
    data(client.post("/api/v1/trips", json=TRIP, headers=headers), 201)
    error(
        client.post("/api/v1/trips", json={**TRIP, "title": "Other"}, headers=headers),
        422,
        "idempotency_key_reused",
    )


def test_keys_belong_to_their_user(client: TestClient, user: dict[str, str], signup) -> None:
    other = {"Authorization": signup()["Authorization"], "Idempotency-Key": "shared-key"}
    mine = data(
        client.post("/api/v1/trips", json=TRIP, headers={**user, "Idempotency-Key": "shared-key"}),
        201,
    )
    theirs = data(client.post("/api/v1/trips", json=TRIP, headers=other), 201)
    assert mine["id"] != theirs["id"]


def test_a_failed_request_frees_its_key_for_a_corrected_retry(
    client: TestClient, user: dict[str, str]
) -> None:
    trip = data(client.post("/api/v1/trips", json=TRIP, headers=user), 201)
    headers = {**user, "Idempotency-Key": "add-kyoto"}
    body = {**KYOTO, "trip_id": trip["id"], "arrival_date": "2027-03-01"}  # outside the trip
    error(
        client.post("/api/v1/destinations", json=body, headers=headers), 422, "dates_outside_trip"
    )
    error(
        client.post("/api/v1/destinations", json=body, headers=headers), 422, "dates_outside_trip"
    )  # not a replay: the command ran again and failed again
    fixed = {**KYOTO, "trip_id": trip["id"]}
    assert (
        "idempotent-replayed"
        not in client.post("/api/v1/destinations", json=fixed, headers=headers).headers
    )


def test_concurrent_duplicates_run_the_command_once(
    client: TestClient, user: dict[str, str]
) -> None:
    trip = data(client.post("/api/v1/trips", json=TRIP, headers=user), 201)
    headers = {**user, "Idempotency-Key": "double-click"}
    body = {**KYOTO, "trip_id": trip["id"]}
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(
            pool.map(
                lambda _: client.post("/api/v1/destinations", json=body, headers=headers), range(4)
            )
        )
    assert [r.status_code for r in responses] == [201] * 4
    assert len({r.json()["data"]["id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 3
    view = client.get(f"/api/v1/trips/{trip['id']}?min_version=2", headers=user).json()["data"]
    assert len(view["destinations"]) == 1


def test_a_command_that_committed_in_a_process_that_died_is_answered_on_retry(
    client: TestClient, user: dict[str, str], api_settings: Settings
) -> None:
    """The first attempt committed, then its API process died before answering (or before
    writing anything else): the client's retry gets that result, and the command ran once."""
    trip = data(client.post("/api/v1/trips", json=TRIP, headers=user), 201)
    body = {**KYOTO, "trip_id": trip["id"]}
    me = UUID(data(client.get("/api/v1/users/me", headers=user), 200)["id"])

    asked = CreateDestinationBody(**body)
    keyed = IdempotencyKey("add-kyoto", "/api/v1/destinations").applied_to(
        CommandContext(actor_id=me, correlation_id=uuid4()), asked
    )
    first_attempt = TripPlanner(build_event_store(api_settings))  # the process that died
    committed = first_attempt.add_destination(
        AddDestination(
            trip_id=asked.trip_id,
            name=asked.name,
            description=asked.description,
            location=asked.location_dict(),
            arrival_date=asked.arrival_date,
            departure_date=asked.departure_date,
        ),
        keyed,
    )

    retry = client.post(
        "/api/v1/destinations", json=body, headers={**user, "Idempotency-Key": "add-kyoto"}
    )
    assert data(retry, 201)["id"] == str(committed.id)
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["etag"] == f'"{committed.version}"'
    view = data(client.get(f"/api/v1/trips/{trip['id']}?min_version=2", headers=user), 200)
    assert [d["id"] for d in view["destinations"]] == [str(committed.id)]
