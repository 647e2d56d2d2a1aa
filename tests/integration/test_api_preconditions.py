"""Preconditions read the same on every write, and a finished trip keeps its itinerary."""

from __future__ import annotations

import pytest

from tests.integration.test_api import KYOTO, data, error
from tests.integration.test_api_edge_cases import trip_with_stop

pytestmark = pytest.mark.integration


def test_an_if_match_naming_a_version_not_reached_is_refused_everywhere(client, user) -> None:
    trip, stop = trip_with_stop(client, user)
    activity = data(
        client.post(
            "/api/v1/activities", json={"destination_id": stop["id"], "title": "T"}, headers=user
        ),
        201,
    )
    future = {**user, "If-Match": '"99"'}
    for response in (
        client.patch(f"/api/v1/activities/{activity['id']}", json={"title": "x"}, headers=future),
        client.patch(f"/api/v1/trips/{trip['id']}", json={"title": "x"}, headers=future),
        client.put(
            f"/api/v1/destinations/{stop['id']}", json={**KYOTO, "name": "x"}, headers=future
        ),
    ):
        refused = error(response, 412, "version_mismatch")
        assert refused["details"]["current_version"] == activity["version"]


def test_if_match_star_matches_any_current_version(client, user) -> None:
    trip, stop = trip_with_stop(client, user)
    activity = data(
        client.post(
            "/api/v1/activities", json={"destination_id": stop["id"], "title": "T"}, headers=user
        ),
        201,
    )
    star = {**user, "If-Match": "*"}
    data(client.patch(f"/api/v1/trips/{trip['id']}", json={"title": "x"}, headers=star), 200)
    data(
        client.patch(f"/api/v1/activities/{activity['id']}", json={"title": "y"}, headers=star),
        200,
    )
    data(client.delete(f"/api/v1/destinations/{stop['id']}", headers=star), 200)
    error(
        client.patch(
            f"/api/v1/trips/{trip['id']}", json={"title": "z"}, headers={**user, "If-Match": "nope"}
        ),
        400,
        "invalid_if_match",
    )


@pytest.mark.parametrize("path", [["planned", "active", "completed"], ["cancelled"]])
def test_a_completed_or_cancelled_trip_keeps_its_itinerary_and_dates(client, user, path) -> None:
    trip, stop = trip_with_stop(client, user)
    activity = data(
        client.post(
            "/api/v1/activities", json={"destination_id": stop["id"], "title": "T"}, headers=user
        ),
        201,
    )
    for status in path:
        data(
            client.patch(f"/api/v1/trips/{trip['id']}", json={"status": status}, headers=user), 200
        )
    frozen = [
        client.post("/api/v1/destinations", json={**KYOTO, "trip_id": trip["id"]}, headers=user),
        client.put(f"/api/v1/destinations/{stop['id']}", json={**KYOTO, "name": "x"}, headers=user),
        client.put(
            f"/api/v1/destinations/{stop['id']}/reorder", json={"after_id": None}, headers=user
        ),
        client.delete(f"/api/v1/destinations/{stop['id']}", headers=user),
        client.post(
            "/api/v1/activities", json={"destination_id": stop["id"], "title": "T"}, headers=user
        ),
        client.patch(f"/api/v1/activities/{activity['id']}", json={"title": "x"}, headers=user),
        client.delete(f"/api/v1/activities/{activity['id']}", headers=user),
        client.patch(f"/api/v1/trips/{trip['id']}", json={"end_date": "2027-04-19"}, headers=user),
    ]
    for response in frozen:
        error(response, 409, "trip_closed")
    # Its name, its notes, who is in it and whether it is shown can still change.
    data(
        client.patch(
            f"/api/v1/trips/{trip['id']}",
            json={"title": "Japan, remembered", "description": "What a trip"},
            headers=user,
        ),
        200,
    )
    data(
        client.patch(f"/api/v1/trips/{trip['id']}", json={"visibility": "public"}, headers=user),
        200,
    )
