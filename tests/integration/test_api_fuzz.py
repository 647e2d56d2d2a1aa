"""Whatever a client sends, the API answers without a server error, and every command it
accepted projects and reads back fresh: no request can make a poison event. Random valid and
invalid commands (text with control characters and lone surrogates, nulls, dates and times
at the edges of what Python can hold, in both the structured and the seed's shapes, NaN,
unknown zones and currencies) are driven through
the API in embedded mode over a real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.main import create_app
from infra.settings import Settings
from tests.integration.test_api import KYOTO, TRIP, data

pytestmark = pytest.mark.integration

ODD = ["\x00", "a\x00b", "\ud800", "\t\n", "", " ", "\x1b[31m", "\u202e", "é" * 300, "日本"]
text = st.one_of(st.text(max_size=40), st.sampled_from(ODD))
maybe_text = st.one_of(st.none(), text)
day = st.one_of(
    st.dates(min_value=date(2027, 3, 25), max_value=date(2027, 4, 25)).map(date.isoformat),
    st.dates().map(date.isoformat),
    st.sampled_from(["2027-02-30", "not a date", ""]),
)
moment = st.one_of(
    st.datetimes(min_value=datetime(2027, 3, 25), max_value=datetime(2027, 4, 25)).map(
        lambda d: d.isoformat(timespec="minutes")
    ),
    st.datetimes().map(lambda d: d.isoformat(timespec="minutes")),
    st.sampled_from(["0001-01-01T00:30", "9999-12-31T23:30", "2027-03-28T02:30", "nope"]),
)
zone = st.sampled_from(["Asia/Tokyo", "Europe/Berlin", "America/New_York", "UTC", "Mars/Base", ""])
when = st.fixed_dictionaries(
    {"local": moment, "time_zone": zone},
    optional={"fold": st.sampled_from([0, 1, 2, None])},
)
money = st.one_of(
    st.none(),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=3, min_value=-10, max_value=10**6
    ).map(str),
    st.sampled_from(["1e999", "NaN", "-1", "0.001", "12.5", "abc"]),
)
currency = st.sampled_from(["EUR", "JPY", "KWD", "ZZZ", "XXX", "eur", None])

seed_moment = st.one_of(
    moment,
    moment.map(lambda m: m + "Z"),
    moment.map(lambda m: m + "+14:00"),
    st.sampled_from(["2027-04-03T09:00:00-23:59", "2027-10-31T02:30", None]),
)
trip_change = st.fixed_dictionaries(
    {},
    optional={
        "title": maybe_text,
        "description": maybe_text,
        "start_date": day,
        "end_date": day,
        "currency": currency,
    },
)
new_stop = st.fixed_dictionaries(
    {
        "name": text,
        "description": text,
        "location": st.fixed_dictionaries(
            {
                "lat": st.floats(allow_nan=True, allow_infinity=True),
                "lng": st.floats(min_value=-180, max_value=180),
            },
            optional={"address": text},
        ),
        "arrival_date": day,
        "departure_date": day,
    },
    optional={"time_zone": st.one_of(zone, st.none())},
)
new_activity = st.fixed_dictionaries(
    {"title": text},
    optional={
        "description": maybe_text,
        "activity_type": st.sampled_from(["sightseeing", "restaurant", "spaceflight", None]),
        "start": st.one_of(st.none(), when),
        "end": st.one_of(st.none(), when),
        "start_time": seed_moment,
        "end_time": seed_moment,
        "cost": money,
        "currency": currency,
    },
)
activity_change = new_activity.map(lambda body: {k: v for k, v in body.items() if k != "title"})
operation = st.one_of(
    st.tuples(st.just("trip"), trip_change),
    st.tuples(st.just("stop"), new_stop),
    st.tuples(st.just("activity"), new_activity),
    st.tuples(st.just("change"), activity_change),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(operation, min_size=1, max_size=8))
def test_no_request_makes_a_server_error_or_a_poison_event(client, user, operations) -> None:
    trip = data(client.post("/api/v1/trips", json=TRIP, headers=user), 201)
    stop = data(
        client.post("/api/v1/destinations", json={**KYOTO, "trip_id": trip["id"]}, headers=user),
        201,
    )
    activity = data(
        client.post(
            "/api/v1/activities", json={"destination_id": stop["id"], "title": "A"}, headers=user
        ),
        201,
    )
    version = activity["version"]
    for kind, body in operations:
        response = send(client, user, kind, body, trip["id"], stop["id"], activity["id"])
        assert response.status_code < 500, (kind, body, response.text)
        if response.status_code in (200, 201):
            version = max(version, response.json()["data"]["version"])
    shown = client.get(f"/api/v1/trips/{trip['id']}", params={"min_version": version}, headers=user)
    assert shown.status_code == 200, shown.text
    assert shown.json()["meta"]["stale"] is False, shown.json()["meta"]  # projected, not parked


def send(client, user, kind: str, body: dict[str, Any], trip_id, stop_id, activity_id) -> Any:
    if kind == "trip":
        method, path = "PATCH", f"/api/v1/trips/{trip_id}"
    elif kind == "stop":
        method, path, body = "POST", "/api/v1/destinations", {**body, "trip_id": trip_id}
    elif kind == "activity":
        method, path, body = "POST", "/api/v1/activities", {**body, "destination_id": stop_id}
    else:
        method, path = "PATCH", f"/api/v1/activities/{activity_id}"
    # As JSON allows it: lone surrogates escaped, NaN and Infinity spelt out.
    raw = json.dumps(body)
    return client.request(
        method, path, content=raw, headers={**user, "Content-Type": "application/json"}
    )


@pytest.fixture
def client(api_settings: Settings) -> Iterator[TestClient]:
    """The API, with the write quota out of the way (many commands per example)."""
    generous = api_settings.model_copy(update={"writes_per_user": 10**6})
    with TestClient(create_app(generous), raise_server_exceptions=False) as client:
        yield client
