"""Recommendations through the API, embedded mode over real PostgreSQL: with the packaged
model (the dev install has the `embeddings` extra, as CI does: without it these fail) and
with the hashed fallback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.integration.conftest import Signup, prepared_settings, signup_on
from tests.integration.sync_calls import auth, eventually
from tests.integration.test_api import data, error

LISBON = (38.7223, -9.1393)
LISBOA = (38.7139, -9.1394)  # the same city, named otherwise by another trip
SINTRA = (38.8029, -9.3817)  # 22 km away
WAIT = 30.0  # the first save of a process loads the model (a few seconds)

Plans = dict[str, list[tuple[str, str, str]]]


@pytest.fixture
def minilm_client(monkeypatch, api_settings) -> Iterator[TestClient]:
    monkeypatch.delenv("ITINERA_EMBEDDING_MODEL", raising=False)
    with TestClient(create_app(api_settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def hashed_client(monkeypatch, database_url, redis_url, tmp_path: Path) -> Iterator[TestClient]:
    monkeypatch.setenv("ITINERA_EMBEDDING_MODEL", "hashed")
    settings = prepared_settings(database_url, redis_url, tmp_path)
    assert settings.embedding_model == "hashed"
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def _trip(
    client: TestClient,
    user: dict[str, str],
    title: str,
    places: dict[str, tuple[float, float]],
    plans: Plans,
    *,
    public: bool,
) -> dict[str, str]:
    """A trip with its places and plans; returns the ids by name (the trip's under `trip`)."""
    body = {"title": title, "start_date": "2027-05-01", "end_date": "2027-05-20"}
    trip = data(client.post("/api/v1/trips", json=body, headers=auth(user)), 201)
    ids = {"trip": str(trip["id"])}
    for name, (lat, lng) in places.items():
        place = {
            "trip_id": ids["trip"],
            "name": name,
            "location": {"lat": lat, "lng": lng},
            "arrival_date": "2027-05-02",
            "departure_date": "2027-05-06",
        }
        ids[name] = data(client.post("/api/v1/destinations", json=place, headers=auth(user)), 201)[
            "id"
        ]
        for plan, kind, description in plans.get(name, []):
            activity = {
                "destination_id": ids[name],
                "title": plan,
                "activity_type": kind,
                "description": description,
            }
            ids[plan] = data(
                client.post("/api/v1/activities", json=activity, headers=auth(user)), 201
            )["id"]
    if public:
        _visibility(client, user, ids["trip"], "public")
    return ids


def _visibility(client: TestClient, user: dict[str, str], trip_id: str, visibility: str) -> None:
    changed = client.patch(
        f"/api/v1/trips/{trip_id}", json={"visibility": visibility}, headers=auth(user)
    )
    data(changed, 200)


def _get(client: TestClient, user: dict[str, str], trip_id: str, query: str = "") -> Any:
    return client.get(f"/api/v1/trips/{trip_id}/recommendations/{query}", headers=auth(user))


def _recommended(
    client: TestClient, user: dict[str, str], trip_id: str, query: str = ""
) -> dict[str, Any]:
    found = _get(client, user, trip_id, query)
    assert found.status_code == 200, found.text
    return dict(found.json())


def _titles(body: dict[str, Any], kind: str) -> set[str]:
    return {s["title"].lower() for s in body["data"][kind]}


def _until(client: TestClient, user: dict[str, str], trip_id: str, activities: set[str]) -> Any:
    return eventually(
        lambda: _recommended(client, user, trip_id),
        lambda body: _titles(body, "activities") == activities,
        timeout=WAIT,
    )


def test_public_trips_nearby_are_suggested_with_reasons_and_leave_when_hidden(
    minilm_client: TestClient,
) -> None:
    client = minilm_client
    signup: Signup = signup_on(client)
    alice, bob, carol, me, stranger = signup(), signup(), signup(), signup(), signup()
    food = _trip(
        client,
        alice,
        "Lisbon food week",
        {"Lisbon": LISBON},
        {
            "Lisbon": [
                ("Time Out Market", "restaurant", "Food hall with local stalls"),
                ("Fado night", "other", "Live fado music in Alfama"),
                ("Cooking class", "other", "Learn to cook bacalhau"),
            ]
        },
        public=True,
    )
    tram = _trip(
        client,
        bob,
        "Portugal by tram",
        {"Lisboa": LISBOA, "Sintra": SINTRA},
        {
            "Lisboa": [
                ("Time out market", "restaurant", "Lunch"),
                ("Tram 28 ride", "transport", "Ride the historic tram"),
            ],
            "Sintra": [("Pena Palace", "sightseeing", "Romantic palace on a hill")],
        },
        public=True,
    )
    _trip(
        client,
        carol,
        "Secret Lisbon",
        {"Lisbon": LISBON},
        {"Lisbon": [("Secret supper club", "restaurant", "")]},
        public=False,
    )
    mine = _trip(
        client,
        me,
        "Lisbon with friends",
        {"Lisbon": (38.7169, -9.1399)},
        {"Lisbon": [("Fado Night", "other", "")]},
        public=False,
    )
    trip_id = mine["trip"]

    body = _until(
        client, me, trip_id, {"time out market", "cooking class", "tram 28 ride", "pena palace"}
    )
    assert body["meta"]["model"] == "all-MiniLM-L6-v2"
    assert _titles(body, "destinations") == {"sintra"}  # not Lisbon, nor Lisboa 0.4 km away
    market = next(s for s in body["data"]["activities"] if s["title"].lower() == "time out market")
    assert market["reason"].startswith("Popular near Lisbon (2 public trips, ")
    assert market["near_destination_id"] == mine["Lisbon"]
    assert market["key"].split(":")[0] in {food["trip"], tram["trip"]}
    assert set(market) == {
        "key", "title", "description", "activity_type", "lat", "lng", "near_destination_id",
        "distance_km", "similarity", "score", "reason", "cost", "currency",
    }  # fmt: skip
    palace = next(s for s in body["data"]["activities"] if s["title"] == "Pena Palace")
    assert 20 < palace["distance_km"] < 25
    assert palace["reason"].startswith("Planned by a public trip near Lisbon (2")

    asked = _recommended(client, me, trip_id, "?interests=food,%20palaces&limit=1")
    assert asked["meta"]["interests"] == ["food", "palaces"]
    (first,) = asked["data"]["activities"]
    assert "matches your interest in" in first["reason"]
    error(_get(client, me, trip_id, "?limit=0"), 422, "validation_failed")

    error(_get(client, stranger, trip_id), 404, "trip_not_found")
    eventually(
        lambda: client.get(f"/api/v1/trips/{food['trip']}", headers=auth(stranger)).status_code,
        lambda status: status == 200,
    )
    error(_get(client, stranger, food["trip"]), 403, "members_only")

    data(client.delete(f"/api/v1/activities/{food['Cooking class']}", headers=auth(alice)), 200)
    _visibility(client, bob, tram["trip"], "private")
    body = _until(client, me, trip_id, {"time out market"})
    assert _titles(body, "destinations") == set()
    assert body["data"]["activities"][0]["reason"].startswith("Planned by a public trip near")

    data(client.delete(f"/api/v1/trips/{food['trip']}", headers=auth(alice)), 200)
    _until(client, me, trip_id, set())


def test_the_packaged_model_ranks_what_resembles_the_trip_first(
    minilm_client: TestClient,
) -> None:
    _ranks_by_resemblance(minilm_client, "all-MiniLM-L6-v2")


def test_the_hashed_fallback_recommends_too(hashed_client: TestClient) -> None:
    _ranks_by_resemblance(hashed_client, "hashed-384-v1")


def _ranks_by_resemblance(client: TestClient, model: str) -> None:
    signup: Signup = signup_on(client)
    others, me = signup(), signup()
    for title, kind, description in (
        ("Grilled sardines at a tasca", "restaurant", "Fresh fish by the river"),
        ("Laundromat", "other", "Wash clothes"),
    ):
        plans = {"Lisbon": [(title, kind, description)]}
        _trip(client, others, title, {"Lisbon": LISBON}, plans, public=True)
    mine = _trip(
        client,
        me,
        "Seafood in Lisbon",
        {"Lisbon": LISBON},
        {"Lisbon": [("Seafood dinner", "restaurant", "Fish and clams")]},
        public=False,
    )
    wanted = {"grilled sardines at a tasca", "laundromat"}
    # Both candidates listed, and this trip's own profile embedded (the catalogue projects it
    # apart from the candidates: until then every similarity is 0).
    body = eventually(
        lambda: _recommended(client, me, mine["trip"]),
        lambda found: (
            _titles(found, "activities") == wanted
            and any(a["similarity"] > 0 for a in found["data"]["activities"])
        ),
        timeout=WAIT,
    )
    assert body["meta"]["model"] == model
    sardines, laundromat = body["data"]["activities"]
    assert sardines["title"] == "Grilled sardines at a tasca"
    assert sardines["similarity"] > laundromat["similarity"]
    assert sardines["score"] > laundromat["score"]
