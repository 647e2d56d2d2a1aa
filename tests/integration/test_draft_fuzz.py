"""Whatever a client sends to the itinerary draft routes, the API answers without a server
error, and every draft it accepted to make is made (ready or failed with a reason), never
left stuck by what the request held: odd text (NUL, lone surrogates, control characters),
nulls, wrong types, huge and negative numbers, unknown currencies and paces, random item ids.
Embedded mode over a real PostgreSQL, the offline scheduler."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from api.main import create_app
from infra.settings import Settings
from tests.integration.sync_calls import eventually
from tests.integration.test_api import data
from tests.integration.test_api_fuzz import ODD, currency, money
from tests.integration.test_itinerary_drafts import drafts, lisbon_trip

pytestmark = pytest.mark.integration

text = st.one_of(st.text(max_size=30), st.sampled_from(ODD))
anything = st.one_of(st.none(), st.integers(), st.floats(), text, st.lists(text, max_size=3))
words = st.one_of(st.lists(text, max_size=25), anything)
word = st.text(st.characters(categories=["L", "N", "Zs"]), min_size=1, max_size=30)
sane_body = st.fixed_dictionaries(
    {},
    optional={
        "interests": st.lists(word, max_size=5),
        "pace": st.sampled_from(["relaxed", "moderate", "packed"]),
        "budget": st.decimals(min_value=0, max_value=10**6, places=2).map(str),
        "currency": st.sampled_from(["EUR", "JPY", "USD"]),
        "must_see": st.lists(word, max_size=3),
        "avoid": st.lists(word, max_size=3),
        "notes": st.text(max_size=200),
    },
)
odd_body = st.fixed_dictionaries(
    {},
    optional={
        "interests": words,
        "pace": st.one_of(st.sampled_from(["relaxed", "moderate", "packed", "frantic"]), anything),
        "budget": st.one_of(money, st.integers(min_value=-(10**30), max_value=10**30)),
        "currency": currency,
        "must_see": words,
        "avoid": words,
        "notes": st.one_of(text, st.text(min_size=1990, max_size=2100), anything),
        "surprise": anything,
    },
)
request_body = st.one_of(sane_body, odd_body)
item_ids = st.one_of(st.lists(st.uuids().map(str), max_size=3), anything)
accept_body = st.one_of(st.fixed_dictionaries({}, optional={"item_ids": item_ids}), anything)


@pytest.fixture
def client(api_settings: Settings) -> Iterator[TestClient]:
    """The API with the write and draft quotas out of the way (many requests per example)."""
    generous = api_settings.model_copy(
        update={"writes_per_user": 10**6, "planner_daily_quota": 10**6, "planner_cache_seconds": 0}
    )
    with TestClient(create_app(generous), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def trip(client: TestClient) -> tuple[dict[str, str], str]:
    from tests.integration.conftest import signup_on

    owner = signup_on(client)()
    trip_id, _ = lisbon_trip(client, owner)
    return {"Authorization": owner["Authorization"]}, trip_id


def post(client: TestClient, user: dict[str, str], path: str, body: Any) -> Any:
    # As JSON allows it: lone surrogates escaped, NaN and Infinity spelt out.
    raw = json.dumps(body)
    return client.post(path, content=raw, headers={**user, "Content-Type": "application/json"})


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(asked=request_body, accepted=accept_body)
def test_no_draft_request_makes_a_server_error_or_a_stuck_draft(
    client: TestClient, trip: tuple[dict[str, str], str], asked: Any, accepted: Any
) -> None:
    user, trip_id = trip
    response = post(client, user, drafts(trip_id), asked)
    event(f"asked: {response.status_code}")
    assert response.status_code < 500, (asked, response.text)
    if response.status_code != 202:
        assert response.status_code == 422, (asked, response.text)
        return
    location = response.headers["Location"]
    view = eventually(
        lambda: data(client.get(location, headers=user), 200),
        lambda found: found["status"] in ("ready", "failed"),
    )
    assert view["status"] == "ready", view  # nothing a valid request holds fails the job
    answered = post(client, user, f"{location}accept/", accepted)
    event(f"accepted: {answered.status_code}")
    assert answered.status_code < 500, (accepted, answered.text)
    assert answered.status_code in (200, 422), (accepted, answered.text)
