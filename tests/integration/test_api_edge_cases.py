"""What the write side accepts, the read side can project: text that PostgreSQL cannot store,
nulls where a value is required, times out of range or skipped by daylight saving, and money
in no real currency are refused at the edge with a clear code (and never reach a projection)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.test_api import KYOTO, TRIP, data, error

pytestmark = pytest.mark.integration

BAD_TEXT = ["nul\x00", "bell\x07", "esc\x1b[0m", "del\x7f"]


def trip_with_stop(client, user) -> tuple[dict[str, Any], dict[str, Any]]:
    trip = data(client.post("/api/v1/trips", json=TRIP, headers=user), 201)
    stop = data(
        client.post("/api/v1/destinations", json={**KYOTO, "trip_id": trip["id"]}, headers=user),
        201,
    )
    return trip, stop


@pytest.mark.parametrize("text", BAD_TEXT)
def test_control_characters_are_refused_in_every_text_field(client, user, text) -> None:
    trip, stop = trip_with_stop(client, user)
    refused = [
        client.post("/api/v1/trips", json={**TRIP, "title": text}, headers=user),
        client.post("/api/v1/trips", json={**TRIP, "description": text}, headers=user),
        client.patch(f"/api/v1/trips/{trip['id']}", json={"title": text}, headers=user),
        client.post(
            "/api/v1/destinations",
            json={**KYOTO, "trip_id": trip["id"], "name": text},
            headers=user,
        ),
        client.post(
            "/api/v1/destinations",
            json={
                **KYOTO,
                "trip_id": trip["id"],
                "location": {"lat": 1, "lng": 2, "address": text},
            },
            headers=user,
        ),
        client.post(
            "/api/v1/activities", json={"destination_id": stop["id"], "title": text}, headers=user
        ),
        client.post(
            "/api/v1/activities",
            json={"destination_id": stop["id"], "title": "T", "description": text},
            headers=user,
        ),
        client.put("/api/v1/users/me", json={"first_name": text}, headers=user),
        client.put("/api/v1/users/me", json={"bio": text}, headers=user),
        client.put(
            "/api/v1/users/me", json={"avatar_url": f"https://a.example/{text}"}, headers=user
        ),
    ]
    for response in refused:
        error(response, 422, "validation_failed")


def test_tabs_and_line_breaks_are_kept_in_descriptions(client, user) -> None:
    described = {**TRIP, "description": "Day 1:\tTokyo\nDay 2:\tKyoto\r\n"}
    trip = data(client.post("/api/v1/trips", json=described, headers=user), 201)
    view = data(client.get(f"/api/v1/trips/{trip['id']}?min_version=1", headers=user), 200)
    assert view["description"] == described["description"]


def test_a_lone_surrogate_is_refused(client, user) -> None:
    body = json.dumps(TRIP)[:-1] + ', "description": "\\ud800"}'
    response = client.post(
        "/api/v1/trips", content=body, headers={**user, "Content-Type": "application/json"}
    )
    error(response, 422, "validation_failed")


def test_null_is_refused_where_a_field_cannot_be_null(client, user) -> None:
    trip, stop = trip_with_stop(client, user)
    activity = data(
        client.post(
            "/api/v1/activities", json={"destination_id": stop["id"], "title": "T"}, headers=user
        ),
        201,
    )
    for field in ("description", "title", "activity_type"):
        response = client.patch(
            f"/api/v1/activities/{activity['id']}", json={field: None}, headers=user
        )
        error(response, 422, "validation_failed")
    after = client.get(
        f"/api/v1/trips/{trip['id']}?min_version={activity['version']}", headers=user
    )
    assert after.status_code == 200 and after.json()["meta"]["stale"] is False


@pytest.mark.parametrize(
    ("local", "zone"),
    [
        ("0001-01-01T00:30", "Asia/Tokyo"),  # in UTC, year 0: Python cannot represent it
        ("9999-12-31T23:30", "America/New_York"),  # in UTC, year 10000
        ("1899-12-31T23:59", "Europe/Paris"),
    ],
)
def test_times_out_of_range_are_refused_before_anything_computes_with_them(
    client, user, local, zone
) -> None:
    _, stop = trip_with_stop(client, user)
    response = client.post(
        "/api/v1/activities",
        json={
            "destination_id": stop["id"],
            "title": "T",
            "start": {"local": local, "time_zone": zone},
        },
        headers=user,
    )
    error(response, 422, "time_out_of_range")


def test_a_nul_in_a_search_or_a_cursor_is_refused_not_a_server_error(client, user) -> None:
    error(
        client.get("/api/v1/users/search", params={"q": "a\x00"}, headers=user),
        422,
        "validation_failed",
    )
    import base64

    cursor = base64.urlsafe_b64encode(b"a\x00|00000000-0000-0000-0000-000000000000")
    response = client.get(
        "/api/v1/users/search", params={"q": "a", "cursor": cursor.decode()}, headers=user
    )
    error(response, 400, "invalid_cursor")
    again = client.get("/api/v1/users/search", params={"q": "a"}, headers=user)
    assert again.status_code == 200  # and the connection pool is fine afterwards


def test_daylight_saving_gaps_are_refused_and_repeated_hours_need_a_fold(client, user) -> None:
    trip = data(
        client.post(
            "/api/v1/trips",
            json={**TRIP, "start_date": "2027-03-01", "end_date": "2027-11-30"},
            headers=user,
        ),
        201,
    )
    berlin = data(
        client.post(
            "/api/v1/destinations",
            json={
                **KYOTO,
                "name": "Berlin",
                "trip_id": trip["id"],
                "arrival_date": "2027-03-01",
                "departure_date": "2027-11-30",
            },
            headers=user,
        ),
        201,
    )

    def add(local: str, **extra: Any) -> Any:
        return client.post(
            "/api/v1/activities",
            json={
                "destination_id": berlin["id"],
                "title": "Late",
                "start": {"local": local, "time_zone": "Europe/Berlin", **extra},
            },
            headers=user,
        )

    error(add("2027-03-28T02:30"), 422, "nonexistent_local_time")
    error(add("2027-10-31T02:30"), 422, "ambiguous_local_time")
    first, second = (
        data(add("2027-10-31T02:30", fold=0), 201),
        data(add("2027-10-31T02:30", fold=1), 201),
    )
    view = data(
        client.get(f"/api/v1/trips/{trip['id']}?min_version={second['version']}", headers=user), 200
    )
    times = {a["id"]: a["start"]["utc"] for a in view["destinations"][0]["activities"]}
    assert times[first["id"]] == "2027-10-31T00:30:00Z"  # CEST, +02:00
    assert times[second["id"]] == "2027-10-31T01:30:00Z"  # CET, +01:00


def test_costs_are_in_real_currencies_with_their_minor_units(client, user) -> None:
    trip, stop = trip_with_stop(client, user)

    def add(cost: str, currency: str) -> Any:
        return client.post(
            "/api/v1/activities",
            json={
                "destination_id": stop["id"],
                "title": "Paid",
                "cost": cost,
                "currency": currency,
            },
            headers=user,
        )

    error(add("10", "ZZZ"), 422, "invalid_currency")
    error(add("10", "XXX"), 422, "invalid_currency")  # ISO 4217's "no currency"
    error(add("12.5", "JPY"), 422, "invalid_amount")  # the yen has no minor unit
    error(add("1.2345", "KWD"), 422, "invalid_amount")  # the dinar has three
    data(add("1200", "JPY"), 201)
    data(add("1.125", "KWD"), 201)
    data(add("2.5", "KWD"), 201)
    last = data(add("0.10", "EUR"), 201)
    view = data(
        client.get(f"/api/v1/trips/{trip['id']}?min_version={last['version']}", headers=user), 200
    )
    assert view["totals"] == {"EUR": "0.10", "JPY": "1200", "KWD": "3.625"}
