"""Analytics through the API, embedded mode over real PostgreSQL: a trip's for its members,
the daily overview for operators, both from the analytics projection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from api.main import create_app
from infra.settings import Settings
from tests.integration.conftest import signup_on
from tests.integration.sync_calls import add_member, auth, eventually
from tests.integration.test_api import KYOTO, TRIP, data, error
from write_side.context import CommandContext
from write_side.identity.operators import grant_admin

DINNER = {
    "title": "Kaiseki",
    "activity_type": "restaurant",
    "start": {"local": "2027-04-03T19:00", "time_zone": "Asia/Tokyo"},
    "end": {"local": "2027-04-03T21:30", "time_zone": "Asia/Tokyo"},
    "cost": "12000",
    "currency": "JPY",
}
TEMPLE = {
    "title": "Fushimi Inari",
    "activity_type": "sightseeing",
    "start": {"local": "2027-04-03T09:00", "time_zone": "Asia/Tokyo"},
    "end": {"local": "2027-04-03T11:00", "time_zone": "Asia/Tokyo"},
    "cost": "12.50",
    "currency": "EUR",
}


def _planned_trip(client: TestClient, owner: dict[str, str], friend: dict[str, str]) -> str:
    trip = data(client.post("/api/v1/trips", json=TRIP, headers=auth(owner)), 201)
    kyoto = data(
        client.post(
            "/api/v1/destinations", json={**KYOTO, "trip_id": trip["id"]}, headers=auth(owner)
        ),
        201,
    )
    for activity in (DINNER, TEMPLE):
        body = {**activity, "destination_id": kyoto["id"]}
        data(client.post("/api/v1/activities", json=body, headers=auth(owner)), 201)
    add_member(client, owner, trip["id"], friend, "editor")
    posted = client.post(
        f"/api/v1/chat/rooms/{trip['id']}/messages",
        json={"content": "Booked the kaiseki!"},
        headers=auth(friend),
    )
    assert posted.status_code == 201, posted.text
    return str(trip["id"])


def _analytics(client: TestClient, user: dict[str, str], trip_id: str) -> Any:
    return client.get(f"/api/v1/trips/{trip_id}/analytics/", headers=auth(user))


def test_members_read_their_trips_budget_hours_and_contributions(client, signup) -> None:
    owner, friend, stranger = signup(), signup(), signup()
    trip_id = _planned_trip(client, owner, friend)

    found = eventually(
        lambda: _analytics(client, friend, trip_id).json(),
        lambda body: any(c["did"].get("messages_posted") for c in body["data"]["contributions"]),
    )
    view = found["data"]
    assert view["budget"] == [
        {"currency": "EUR", "amount": "12.50"},
        {"currency": "JPY", "amount": "12000"},
    ]
    (day,) = view["by_day"]
    assert (day["day"], day["planned_hours"]) == ("2027-04-03", 4.5)
    assert [g["key"] for g in view["by_activity_type"]] == ["restaurant", "sightseeing"]
    (destination,) = view["by_destination"]
    assert (destination["name"], destination["activities"]) == ("Kyoto", 2)
    contributions = {c["user_id"]: c for c in view["contributions"]}
    assert contributions[owner["X-User"]]["role"] == "owner"
    me = data(client.get("/api/v1/users/me", headers=auth(owner)), 200)
    assert contributions[owner["X-User"]]["username"] == me["username"]
    assert contributions[owner["X-User"]]["did"] == {
        "destinations_added": 1,
        "activities_added": 2,
        "members_added": 1,
    }
    assert contributions[friend["X-User"]]["did"] == {"messages_posted": 1}

    error(_analytics(client, stranger, trip_id), 404, "trip_not_found")
    data(
        client.patch(
            f"/api/v1/trips/{trip_id}", json={"visibility": "public"}, headers=auth(owner)
        ),
        200,
    )
    eventually(
        lambda: client.get(f"/api/v1/trips/{trip_id}", headers=auth(stranger)).status_code,
        lambda status: status == 200,
    )
    error(_analytics(client, stranger, trip_id), 403, "members_only")


def test_operators_read_every_trips_figures_by_day_and_nobody_else(client, signup) -> None:
    owner, friend = signup(), signup()
    _planned_trip(client, owner, friend)
    overview = "/api/v1/analytics/overview/"
    error(client.get(overview, headers=auth(owner)), 403, "operators_only")

    me = data(client.get("/api/v1/users/me", headers=auth(owner)), 200)
    events = client.app.state.container.events  # type: ignore[attr-defined]
    system = CommandContext(uuid.UUID(int=0), uuid.uuid4())
    assert grant_admin(events, f"{me['username']}@example.org", system) == uuid.UUID(me["id"])
    assert grant_admin(events, "nobody@example.org", system) is None

    today = datetime.now(UTC).date()
    found = eventually(  # the chat's announcement of the member comes in its own time
        lambda: data(client.get(overview, headers=auth(owner)), 200),
        lambda body: len(body["totals"].get("messages_posted", {})) == 2,
    )
    assert (found["first_day"], found["last_day"]) == (str(today - timedelta(days=29)), str(today))
    assert (found["active_trips"], found["active_users"]) == (1, 2)
    assert found["totals"] == {
        "trips_created": {"": "1"},
        "destinations_added": {"JP": "1"},
        "activities_planned": {"restaurant": "1", "sightseeing": "1"},
        "spend": {"EUR": "12.50", "JPY": "12000"},
        "members_joined": {"editor": "1"},
        "messages_posted": {"system": "1", "text": "1"},  # the chat announced the member
    }
    (day,) = found["days"]
    assert (day["day"], day["active_trips"], day["active_users"]) == (str(today), 1, 2)

    error(
        client.get(
            overview, params={"from": "2027-01-02", "to": "2027-01-01"}, headers=auth(owner)
        ),
        422,
        "invalid_date_range",
    )
    error(
        client.get(
            overview, params={"from": "2020-01-01", "to": "2027-01-01"}, headers=auth(owner)
        ),
        422,
        "invalid_date_range",
    )
    empty = data(client.get(overview, params={"to": "2020-01-01"}, headers=auth(owner)), 200)
    assert (empty["days"], empty["totals"], empty["active_users"]) == ([], {}, 0)
    earliest = data(client.get(overview, params={"to": "0001-01-02"}, headers=auth(owner)), 200)
    assert (earliest["first_day"], earliest["last_day"]) == ("0001-01-01", "0001-01-02")
    for bad in ({"to": "2027-13-01"}, {"from": "-1"}, {"to": "2027-01-01\x00"}):
        error(client.get(overview, params=bad, headers=auth(owner)), 422, "validation_failed")


def test_with_rates_configured_costs_are_also_converted_into_the_trips_currency(
    api_settings: Settings,
) -> None:
    rates = {"EUR": Decimal(1), "JPY": Decimal("0.0062")}
    with TestClient(
        create_app(api_settings.model_copy(update={"analytics_rates": rates}))
    ) as client:
        owner = signup_on(client)()
        trip = data(
            client.post("/api/v1/trips", json={**TRIP, "currency": "EUR"}, headers=auth(owner)), 201
        )
        kyoto = data(
            client.post(
                "/api/v1/destinations", json={**KYOTO, "trip_id": trip["id"]}, headers=auth(owner)
            ),
            201,
        )
        body = {**DINNER, "destination_id": kyoto["id"]}
        data(client.post("/api/v1/activities", json=body, headers=auth(owner)), 201)

        def planned() -> list[Any]:
            with psycopg.connect(api_settings.database_url) as conn:
                return [
                    row[0]["payload"]
                    for row in conn.execute(
                        "SELECT fact FROM analytics_facts WHERE event_type = 'ActivityPlannedFact'"
                    )
                ]

        (payload,) = eventually(planned, lambda found: len(found) == 1)
    assert (payload["cost"], payload["currency"]) == ("12000", "JPY")
    assert (payload["trip_currency"], payload["converted_cost"]) == ("EUR", "74.40")
