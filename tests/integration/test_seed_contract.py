"""The seed's field names (../shared/seeds/003: Trip.creator, created_at / updated_at,
Destination.trip, Activity.destination and start_time / end_time, TripMembership.joined_at /
invited_by, Profile.avatar, reorder by `order`) work beside our richer shapes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.openapi import CommandResultBody, HistoryEntryBody
from read_side.views import ActivityView, DestinationView, TripView
from tests.integration.conftest import Signup
from tests.integration.test_api import KYOTO, TRIP, data, error


def read(client: TestClient, path: str, headers: dict[str, str], version: int) -> Any:
    return data(client.get(f"{path}?min_version={version}", headers=headers), 200)


def test_trips_destinations_and_activities_carry_the_seeds_names(
    client: TestClient, signup: Signup
) -> None:
    owner, friend = signup(), signup()
    me = {"Authorization": owner["Authorization"]}
    trip = data(client.post("/api/v1/trips/", json=TRIP, headers=me), 201)
    stop = data(
        client.post("/api/v1/destinations/", json={**KYOTO, "trip_id": trip["id"]}, headers=me),
        201,
    )
    tea = data(
        client.post(
            "/api/v1/activities/",
            json={
                "destination_id": stop["id"],
                "title": "Tea",
                "start": {"local": "2027-04-03T09:30", "time_zone": "Asia/Tokyo"},
            },
            headers=me,
        ),
        201,
    )
    added = data(
        client.post(
            f"/api/v1/trips/{trip['id']}/members/",
            json={"user_id": friend["X-User"], "role": "editor"},
            headers=me,
        ),
        201,
    )

    view = read(client, f"/api/v1/trips/{trip['id']}/", me, added["version"])
    assert view["creator"] == view["creator_id"] == owner["X-User"]
    assert view["created_at"] <= view["updated_at"]
    creator, invited = view["members"]
    assert (creator["invited_by"], creator["joined_at"]) == (None, view["created_at"])
    assert invited["user_id"] == friend["X-User"] and invited["invited_by"] == owner["X-User"]
    assert invited["joined_at"] == view["updated_at"] and invited["username"]

    destination = data(client.get(f"/api/v1/destinations/{stop['id']}/", headers=me), 200)
    assert destination["trip_id"] == trip["id"]
    assert destination["created_at"] == destination["updated_at"]
    activity = data(client.get(f"/api/v1/activities/{tea['id']}/", headers=me), 200)
    assert activity["destination_id"] == stop["id"]
    assert activity["start_time"] == "2027-04-03T09:30:00+09:00"
    assert activity["end_time"] is None
    assert activity["created_at"] == activity["updated_at"]

    # What is served parses as what OpenAPI documents.
    TripView.model_validate(view)
    DestinationView.model_validate(destination)
    ActivityView.model_validate(activity)
    history = data(client.get(f"/api/v1/trips/{trip['id']}/history", headers=me), 200)
    assert [HistoryEntryBody.model_validate(entry).version for entry in history] == [1, 2, 3, 4]

    renamed = data(
        client.patch(f"/api/v1/activities/{tea['id']}", json={"title": "Matcha"}, headers=me),
        200,
    )
    CommandResultBody.model_validate(renamed)
    later = read(client, f"/api/v1/activities/{tea['id']}/", me, renamed["version"])
    assert later["updated_at"] > later["created_at"] == activity["created_at"]


def test_reorder_takes_the_seeds_order_beside_after_id(
    client: TestClient, user: dict[str, str]
) -> None:
    trip = data(client.post("/api/v1/trips", json=TRIP, headers=user), 201)
    ids = [
        data(
            client.post(
                "/api/v1/destinations",
                json={**KYOTO, "trip_id": trip["id"], "name": name},
                headers=user,
            ),
            201,
        )["id"]
        for name in ("A", "B", "C")
    ]

    def reorder(destination: str, body: dict[str, Any]) -> Any:
        return client.put(f"/api/v1/destinations/{destination}/reorder/", json=body, headers=user)

    data(reorder(ids[2], {"order": 0}), 200)
    data(reorder(ids[0], {"order": 1}), 200)
    moved = data(reorder(ids[1], {"order": 99}), 200)  # past the end: last
    view = read(client, f"/api/v1/trips/{trip['id']}", user, moved["version"])
    assert [(d["name"], d["order"]) for d in view["destinations"]] == [
        ("C", 0),
        ("A", 1),
        ("B", 2),
    ]
    error(reorder(ids[0], {}), 422, "validation_failed")
    error(reorder(ids[0], {"order": 1, "after_id": None}), 422, "validation_failed")
    error(reorder(ids[0], {"order": -1}), 422, "validation_failed")


def test_profiles_take_and_give_the_seeds_avatar(client: TestClient, user: dict[str, str]) -> None:
    url = "https://example.org/me.png"
    me = data(client.put("/api/v1/users/me", json={"avatar": url}, headers=user), 200)
    assert me["avatar"] == me["avatar_url"] == url
    error(
        client.put(
            "/api/v1/users/me",
            json={"avatar": url, "avatar_url": "https://example.org/other.png"},
            headers=user,
        ),
        422,
        "validation_failed",
    )


def test_a_client_speaking_only_the_seeds_names_plans_a_trip(
    client: TestClient, user: dict[str, str]
) -> None:
    """Seed bodies only: no time zones, no currencies, times as start_time / end_time."""
    trip = data(
        client.post(
            "/api/v1/trips/",
            json={
                "title": "Japan",
                "description": "Spring",
                "start_date": "2027-04-01",
                "end_date": "2027-04-20",
            },
            headers=user,
        ),
        201,
    )
    stop = data(
        client.post(
            "/api/v1/destinations/",
            json={
                "trip_id": trip["id"],
                "name": "Kyoto",
                "description": "Temples",
                "location": {"lat": 35.01, "lng": 135.77, "address": "Kyoto"},
                "arrival_date": "2027-04-02",
                "departure_date": "2027-04-06",
            },
            headers=user,
        ),
        201,
    )
    tea = data(
        client.post(
            "/api/v1/activities/",
            json={
                "destination_id": stop["id"],
                "title": "Tea ceremony",
                "description": "",
                "activity_type": "sightseeing",
                "start_time": "2027-04-03T09:30:00",  # a wall clock in Kyoto
                "end_time": "2027-04-03T02:00:00Z",  # an instant: 11:00 in Kyoto
                "cost": "25.00",
            },
            headers=user,
        ),
        201,
    )

    view = data(client.get(f"/api/v1/trips/{trip['id']}/", headers=user), 200)
    (destination,) = view["destinations"]
    assert destination["time_zone"] == "Asia/Tokyo"  # from its coordinates
    (activity,) = destination["activities"]
    assert activity["id"] == tea["id"]
    assert activity["start_time"] == "2027-04-03T09:30:00+09:00"
    assert activity["end_time"] == "2027-04-03T11:00:00+09:00"
    assert activity["start"] == {
        "local": "2027-04-03T09:30:00",
        "time_zone": "Asia/Tokyo",
        "utc": "2027-04-03T00:30:00Z",
    }
    assert (activity["cost"], activity["currency"]) == ("25.00", "EUR")  # the default
    assert view["currency"] is None and view["totals"] == {"EUR": "25.00"}


def test_costs_without_currency_are_in_the_trips_and_zones_can_be_set(
    client: TestClient, user: dict[str, str]
) -> None:
    trip = data(client.post("/api/v1/trips", json={**TRIP, "currency": "JPY"}, headers=user), 201)
    stop = data(
        client.post(
            "/api/v1/destinations",
            json={**KYOTO, "trip_id": trip["id"], "time_zone": "Asia/Seoul"},
            headers=user,
        ),
        201,
    )
    ramen = data(
        client.post(
            "/api/v1/activities",
            json={"destination_id": stop["id"], "title": "Ramen", "cost": "1200"},
            headers=user,
        ),
        201,
    )
    idea = data(
        client.post(
            "/api/v1/activities",
            json={"destination_id": stop["id"], "title": "Maybe", "start_time": "2027-04-03T09:00"},
            headers=user,
        ),
        201,
    )
    priced = data(
        client.patch(f"/api/v1/activities/{idea['id']}", json={"cost": "800"}, headers=user), 200
    )
    replaced = data(
        client.put(
            f"/api/v1/destinations/{stop['id']}",
            json={**KYOTO, "name": "Kyoto!"},  # no time_zone: the one set stays
            headers=user,
        ),
        200,
    )
    view = read(client, f"/api/v1/trips/{trip['id']}", user, replaced["version"])
    (destination,) = view["destinations"]
    assert destination["time_zone"] == "Asia/Seoul"
    by_id = {a["id"]: a for a in destination["activities"]}
    assert by_id[ramen["id"]]["currency"] == by_id[priced["id"]]["currency"] == "JPY"
    assert by_id[idea["id"]]["start_time"] == "2027-04-03T09:00:00+09:00"
    assert view["currency"] == "JPY" and view["totals"] == {"JPY": "2000"}

    changed = data(
        client.patch(f"/api/v1/trips/{trip['id']}", json={"currency": "EUR"}, headers=user), 200
    )
    assert (
        read(client, f"/api/v1/trips/{trip['id']}", user, changed["version"])["currency"] == "EUR"
    )
    error(
        client.patch(f"/api/v1/trips/{trip['id']}", json={"currency": "ZZZ"}, headers=user),
        422,
        "invalid_currency",
    )
    error(
        client.post(
            "/api/v1/destinations",
            json={**KYOTO, "trip_id": trip["id"], "time_zone": "Mars/Olympus"},
            headers=user,
        ),
        422,
        "validation_failed",
    )
    error(
        client.post(
            "/api/v1/activities",
            json={
                "destination_id": stop["id"],
                "title": "Both",
                "start_time": "2027-04-03T09:00",
                "start": {"local": "2027-04-03T09:00", "time_zone": "Asia/Tokyo"},
            },
            headers=user,
        ),
        422,
        "validation_failed",
    )
    error(
        client.post(
            "/api/v1/activities",
            json={
                "destination_id": stop["id"],
                "title": "Far",
                "start_time": "0001-01-01T00:30+14:00",
            },
            headers=user,
        ),
        422,
        "time_out_of_range",
    )
