"""Destinations and activities through the API, over real PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from streams.contracts import parse_trip_event
from tests.integration.test_api import KYOTO, TRIP, data, error


def visible(client: TestClient, trip_id: str, version: int, headers: dict[str, str]) -> Any:
    response = client.get(f"/api/v1/trips/{trip_id}?min_version={version}", headers=headers)
    assert response.json()["meta"]["stale"] is False
    return data(response, 200)


def test_a_destination_and_its_activities_from_creation_to_removal(
    client: TestClient, user: dict[str, str]
) -> None:
    trip = data(client.post("/api/v1/trips", json=TRIP, headers=user), 201)
    ids = [
        data(
            client.post(
                "/api/v1/destinations",
                headers=user,
                json={**KYOTO, "trip_id": trip["id"], "name": name},
            ),
            201,
        )["id"]
        for name in ("Kyoto", "Osaka", "Nara")
    ]
    moved = data(
        client.put(
            f"/api/v1/destinations/{ids[2]}/reorder/", headers=user, json={"after_id": None}
        ),
        200,
    )
    flight = data(
        client.post(
            "/api/v1/activities",
            headers=user,
            json={
                "destination_id": ids[0],
                "title": "Flight home",
                "activity_type": "transport",
                "start": {"local": "2027-04-05T17:00", "time_zone": "Asia/Tokyo"},
                "end": {"local": "2027-04-05T10:00", "time_zone": "America/Los_Angeles"},
                "cost": "890.00",
                "currency": "USD",
            },
        ),
        201,
    )
    data(
        client.post(
            "/api/v1/activities",
            headers=user,
            json={"destination_id": ids[0], "title": "Ramen", "cost": "1200", "currency": "JPY"},
        ),
        201,
    )
    idea = data(
        client.post(
            "/api/v1/activities",
            headers=user,
            json={"destination_id": ids[0], "title": "Maybe a tea ceremony"},
        ),
        201,
    )

    view = visible(client, trip["id"], idea["version"], user)
    assert [d["name"] for d in view["destinations"]] == ["Nara", "Kyoto", "Osaka"]
    assert view["totals"] == {"JPY": "1200", "USD": "890.00"}
    shown = data(client.get(f"/api/v1/activities/{flight['id']}", headers=user), 200)
    assert shown["start"]["utc"].startswith("2027-04-05T08:00")
    assert shown["end"]["time_zone"] == "America/Los_Angeles"
    listed = client.get("/api/v1/activities", params={"destination_id": ids[0]}, headers=user)
    assert [a["title"] for a in data(listed, 200)] == [
        "Flight home",
        "Ramen",
        "Maybe a tea ceremony",
    ]
    destinations = client.get("/api/v1/destinations", params={"trip_id": trip["id"]}, headers=user)
    assert data(destinations, 200)[0]["name"] == "Nara"
    assert moved["version"] == 5

    removed = data(client.delete(f"/api/v1/destinations/{ids[0]}", headers=user), 200)
    visible(client, trip["id"], removed["version"], user)
    error(client.get(f"/api/v1/activities/{flight['id']}", headers=user), 404, "activity_not_found")
    error(client.get(f"/api/v1/destinations/{ids[0]}", headers=user), 404, "destination_not_found")
    error(
        client.patch(f"/api/v1/activities/{flight['id']}", json={"title": "x"}, headers=user),
        404,
        "activity_not_found",
    )


def test_two_editors_changing_different_fields_both_succeed_the_same_field_gets_412(
    client: TestClient, user: dict[str, str]
) -> None:
    trip = data(client.post("/api/v1/trips", json=TRIP, headers=user), 201)
    destination = data(
        client.post("/api/v1/destinations", headers=user, json={**KYOTO, "trip_id": trip["id"]}),
        201,
    )
    dinner = data(
        client.post(
            "/api/v1/activities",
            headers=user,
            json={"destination_id": destination["id"], "title": "Dinner"},
        ),
        201,
    )
    seen = {**user, "If-Match": f'"{dinner["version"]}"'}
    path = f"/api/v1/activities/{dinner['id']}"
    data(client.patch(path, json={"title": "Kaiseki dinner"}, headers=seen), 200)
    data(client.put(path, json={"cost": "80", "currency": "EUR"}, headers=seen), 200)
    clash = error(
        client.patch(path, json={"title": "Sushi"}, headers=seen), 412, "version_mismatch"
    )
    assert clash["details"]["conflicting_fields"] == ["title"]


def test_bad_times_and_money_are_refused_at_the_edge_with_field_details(
    client: TestClient, user: dict[str, str]
) -> None:
    trip = data(client.post("/api/v1/trips", json=TRIP, headers=user), 201)
    destination = data(
        client.post("/api/v1/destinations", headers=user, json={**KYOTO, "trip_id": trip["id"]}),
        201,
    )
    base = {"destination_id": destination["id"], "title": "x"}
    for body, field in [
        (
            {"start": {"local": "2027-04-03T09:00", "time_zone": "Mars/Olympus"}},
            "body.start.time_zone",
        ),
        (
            {"start": {"local": "2027-04-03T09:00+09:00", "time_zone": "Asia/Tokyo"}},
            "body.start.local",
        ),
        ({"cost": "10", "currency": "euro"}, "body.currency"),
        ({"cost": "-1", "currency": "EUR"}, "body.cost"),
        (
            {
                "start_time": "2027-04-03T09:00",
                "start": {"local": "2027-04-03T09:00", "time_zone": "Asia/Tokyo"},
            },
            "body",
        ),
        ({"start_time": "soon"}, "body.start_time"),
        ({"activity_type": "party"}, "body.activity_type"),
    ]:
        details = error(
            client.post("/api/v1/activities", json={**base, **body}, headers=user),
            422,
            "validation_failed",
        )["details"]
        assert field in {d["field"] for d in details}, (body, details)


def test_history_speaks_the_published_contract(client: TestClient, user: dict[str, str]) -> None:
    trip = data(client.post("/api/v1/trips", json=TRIP, headers=user), 201)
    stop = data(
        client.post("/api/v1/destinations", headers=user, json={**KYOTO, "trip_id": trip["id"]}),
        201,
    )
    data(
        client.post(
            "/api/v1/activities",
            headers=user,
            json={
                "destination_id": stop["id"],
                "title": "Tea",
                "start": {"local": "2027-04-03T09:30", "time_zone": "Asia/Tokyo"},
                "cost": "12.50",
                "currency": "EUR",
            },
        ),
        201,
    )
    entries = data(client.get(f"/api/v1/trips/{trip['id']}/history", headers=user), 200)
    assert [e["event_type"] for e in entries] == [
        "TripCreated",
        "DestinationAdded",
        "ActivityAdded",
    ]
    added = entries[-1]["changes"]
    assert added["cost"] == "12.50" and added["currency"] == "EUR"
    assert added["start"] == {
        "local": "2027-04-03T09:30:00",
        "time_zone": "Asia/Tokyo",
        "utc": "2027-04-03T00:30:00Z",
    }
    assert not any(key.endswith(("_local", "_utc", "_time_zone")) for key in added)
    for entry in entries:  # each one is, field for field, the message Kafka consumers read
        message = {
            "event_id": entry["event_id"],
            "event_type": entry["event_type"],
            "schema_version": entry["schema_version"],
            "aggregate_id": trip["id"],
            "aggregate_version": entry["version"],
            "occurred_at": entry["occurred_at"],
            "actor_id": entry["actor_id"],
            "correlation_id": entry["correlation_id"],
            "payload": entry["changes"],
        }
        parsed = parse_trip_event(json.dumps(message))
        assert parsed.model_dump(mode="json") == message
