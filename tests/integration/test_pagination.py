"""One pagination style: every list takes `limit` and an opaque `cursor` and answers
`meta.next_cursor`; a page starts right after the item the cursor names, so what moves or
arrives before it is neither skipped nor repeated (an offset would)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.integration.conftest import Signup
from tests.integration.test_api import KYOTO, TRIP, data, error


def listed(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> Any:
    response = client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_destination_pages_follow_the_cursor_while_the_order_changes(
    client: TestClient, user: dict[str, str]
) -> None:
    trip = data(client.post("/api/v1/trips", json=TRIP, headers=user), 201)
    ids = {
        name: data(
            client.post(
                "/api/v1/destinations",
                json={**KYOTO, "trip_id": trip["id"], "name": name},
                headers=user,
            ),
            201,
        )["id"]
        for name in "ABCD"
    }
    first = listed(client, "/api/v1/destinations", user, trip_id=trip["id"], limit=2)
    assert [d["name"] for d in first["data"]] == ["A", "B"]
    assert first["meta"]["total"] == 4

    # Meanwhile D moves to the front: the next page goes on after B all the same.
    data(
        client.put(f"/api/v1/destinations/{ids['D']}/reorder", json={"order": 0}, headers=user), 200
    )
    cursor = first["meta"]["next_cursor"]
    second = listed(
        client, "/api/v1/destinations", user, trip_id=trip["id"], limit=2, cursor=cursor
    )
    assert [d["name"] for d in second["data"]] == ["C"]
    assert second["meta"]["next_cursor"] is None

    activities = listed(client, "/api/v1/activities", user, destination_id=ids["A"], cursor=cursor)
    assert activities["data"] == [] and activities["meta"]["next_cursor"] is None


def test_member_and_history_pages_take_cursors(
    client: TestClient, user: dict[str, str], signup: Signup
) -> None:
    trip = data(client.post("/api/v1/trips", json=TRIP, headers=user), 201)
    for _ in range(3):
        added = data(
            client.post(
                f"/api/v1/trips/{trip['id']}/members",
                json={"user_id": signup()["X-User"]},
                headers=user,
            ),
            201,
        )
    path = f"/api/v1/trips/{trip['id']}/members"
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2, "min_version": added["version"]}
        page = listed(client, path, user, **params, **({"cursor": cursor} if cursor else {}))
        seen += [m["user_id"] for m in page["data"]]
        if (cursor := page["meta"]["next_cursor"]) is None:
            break
    assert len(seen) == len(set(seen)) == 4

    history = f"/api/v1/trips/{trip['id']}/history"
    head = listed(client, history, user, limit=2)
    assert [e["version"] for e in head["data"]] == [1, 2]
    by_cursor = listed(client, history, user, limit=2, cursor=head["meta"]["next_cursor"])
    by_version = listed(client, history, user, limit=2, after_version=2)
    assert [e["version"] for e in by_cursor["data"]] == [3, 4]
    assert by_cursor["data"] == by_version["data"]


def test_a_cursor_that_is_not_ours_is_a_clear_error(
    client: TestClient, user: dict[str, str]
) -> None:
    trip = data(client.post("/api/v1/trips", json=TRIP, headers=user), 201)
    for path, params in [
        ("/api/v1/destinations", {"trip_id": trip["id"]}),
        (f"/api/v1/trips/{trip['id']}/members", {}),
        (f"/api/v1/trips/{trip['id']}/history", {}),
        ("/api/v1/trips", {}),
        ("/api/v1/users/search", {"q": "a"}),
    ]:
        for cursor in ("garbage", "WyIxIiwgIjIiLCAiMyJd", "WyJcdTAwMDAiXQ=="):
            error(
                client.get(path, params={**params, "cursor": cursor}, headers=user),
                400,
                "invalid_cursor",
            )
