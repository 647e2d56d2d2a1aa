"""Every trip endpoint for every role, through the API (write side and read side)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from infra.settings import Settings
from tests.integration.conftest import Signup

ROLES = ("owner", "editor", "viewer", "non-member", "public outsider")


@dataclass
class Scene:
    """A fresh trip with an owner, an editor, a viewer and a destination."""

    trip_id: str
    destination_id: str
    activity_id: str
    members: dict[str, str]  # person → user id
    version: int
    acting: str = ""  # the person making the call


Call = Callable[[TestClient, Scene, dict[str, str]], Any]

TRIP = {"title": "Matrix", "start_date": "2027-03-01", "end_date": "2027-03-10"}
DESTINATION = {
    "name": "Porto",
    "location": {"lat": 41.1, "lng": -8.6},
    "arrival_date": "2027-03-02",
    "departure_date": "2027-03-04",
}

# endpoint → (call, expected status per role in ROLES order)
MATRIX: dict[str, tuple[Call, tuple[int, ...]]] = {
    "GET trip": (
        lambda c, s, h: c.get(f"/api/v1/trips/{s.trip_id}?min_version={s.version}", headers=h),
        (200, 200, 200, 404, 200),
    ),
    "GET members": (
        lambda c, s, h: c.get(f"/api/v1/trips/{s.trip_id}/members", headers=h),
        (200, 200, 200, 404, 200),
    ),
    "GET history": (
        lambda c, s, h: c.get(f"/api/v1/trips/{s.trip_id}/history", headers=h),
        (200, 200, 200, 404, 403),
    ),
    "PATCH trip details": (
        lambda c, s, h: c.patch(f"/api/v1/trips/{s.trip_id}", json={"title": "New"}, headers=h),
        (200, 200, 403, 404, 403),
    ),
    "PATCH trip status": (
        lambda c, s, h: c.patch(
            f"/api/v1/trips/{s.trip_id}", json={"status": "planned"}, headers=h
        ),
        (200, 200, 403, 404, 403),
    ),
    "PATCH trip visibility": (
        lambda c, s, h: c.patch(
            f"/api/v1/trips/{s.trip_id}", json={"visibility": "shared"}, headers=h
        ),
        (200, 403, 403, 404, 403),
    ),
    "POST destination": (
        lambda c, s, h: c.post(
            "/api/v1/destinations", json={**DESTINATION, "trip_id": s.trip_id}, headers=h
        ),
        (201, 201, 403, 404, 403),
    ),
    "POST activity": (
        lambda c, s, h: c.post(
            "/api/v1/activities",
            json={"destination_id": s.destination_id, "title": "Port wine"},
            headers=h,
        ),
        (201, 201, 403, 404, 403),
    ),
    "GET destinations of trip": (
        lambda c, s, h: c.get(f"/api/v1/destinations?trip_id={s.trip_id}", headers=h),
        (200, 200, 200, 404, 200),
    ),
    "GET destination": (
        lambda c, s, h: c.get(f"/api/v1/destinations/{s.destination_id}", headers=h),
        (200, 200, 200, 404, 200),
    ),
    "GET activities of destination": (
        lambda c, s, h: c.get(f"/api/v1/activities?destination_id={s.destination_id}", headers=h),
        (200, 200, 200, 404, 200),
    ),
    "GET activity": (
        lambda c, s, h: c.get(f"/api/v1/activities/{s.activity_id}", headers=h),
        (200, 200, 200, 404, 200),
    ),
    "PUT destination": (
        lambda c, s, h: c.put(
            f"/api/v1/destinations/{s.destination_id}", json=DESTINATION, headers=h
        ),
        (200, 200, 403, 404, 403),
    ),
    "PUT destination reorder": (
        lambda c, s, h: c.put(
            f"/api/v1/destinations/{s.destination_id}/reorder", json={"after_id": None}, headers=h
        ),
        (200, 200, 403, 404, 403),
    ),
    "DELETE destination": (
        lambda c, s, h: c.delete(f"/api/v1/destinations/{s.destination_id}", headers=h),
        (200, 200, 403, 404, 403),
    ),
    "PATCH activity": (
        lambda c, s, h: c.patch(
            f"/api/v1/activities/{s.activity_id}", json={"title": "Tram"}, headers=h
        ),
        (200, 200, 403, 404, 403),
    ),
    "PUT activity reorder": (
        lambda c, s, h: c.put(
            f"/api/v1/activities/{s.activity_id}/reorder", json={"after_id": None}, headers=h
        ),
        (200, 200, 403, 404, 403),
    ),
    "DELETE activity": (
        lambda c, s, h: c.delete(f"/api/v1/activities/{s.activity_id}", headers=h),
        (200, 200, 403, 404, 403),
    ),
    "POST member": (
        lambda c, s, h: c.post(
            f"/api/v1/trips/{s.trip_id}/members",
            json={"user_id": s.members["spare"], "role": "viewer"},
            headers=h,
        ),
        (201, 403, 403, 404, 403),
    ),
    "PATCH member role": (
        lambda c, s, h: c.patch(
            f"/api/v1/trips/{s.trip_id}/members/{s.members['viewer']}",
            json={"role": "editor"},
            headers=h,
        ),
        (200, 403, 403, 404, 403),
    ),
    "DELETE another member": (
        lambda c, s, h: c.delete(
            f"/api/v1/trips/{s.trip_id}/members/{s.members['other']}", headers=h
        ),
        (200, 403, 403, 404, 403),
    ),
    "DELETE yourself (leave)": (
        lambda c, s, h: c.delete(
            f"/api/v1/trips/{s.trip_id}/members/{s.members[s.acting]}", headers=h
        ),
        (422, 200, 200, 404, 404),  # the owner is the last owner; outsiders are no members
    ),
    "DELETE trip (archive)": (
        lambda c, s, h: c.delete(f"/api/v1/trips/{s.trip_id}", headers=h),
        (200, 403, 403, 404, 403),
    ),
    "POST restore": (
        lambda c, s, h: c.post(f"/api/v1/trips/{s.trip_id}/restore", headers=h),
        (200, 404, 404, 404, 404),
    ),
}


def test_every_endpoint_for_every_role(
    api_settings: Settings, client: TestClient, signup: Signup
) -> None:
    api_settings.writes_per_user = 10_000  # this test writes far more than a person would
    people = {
        name: signup() for name in ("owner", "editor", "viewer", "other", "outsider", "spare")
    }
    headers = {name: {"Authorization": p["Authorization"]} for name, p in people.items()}
    as_role = {
        "owner": headers["owner"],
        "editor": headers["editor"],
        "viewer": headers["viewer"],
        "non-member": headers["outsider"],
        "public outsider": headers["outsider"],
    }

    def scene(public: bool, archived: bool) -> Scene:
        owner = headers["owner"]
        trip = client.post("/api/v1/trips", json=TRIP, headers=owner).json()["data"]
        for name, role in (("editor", "editor"), ("viewer", "viewer"), ("other", "viewer")):
            client.post(
                f"/api/v1/trips/{trip['id']}/members",
                headers=owner,
                json={"user_id": people[name]["X-User"], "role": role},
            )
        destination = client.post(
            "/api/v1/destinations", headers=owner, json={**DESTINATION, "trip_id": trip["id"]}
        ).json()["data"]
        activity = client.post(
            "/api/v1/activities",
            headers=owner,
            json={"destination_id": destination["id"], "title": "Funicular"},
        ).json()["data"]
        version = activity["version"]
        if public:
            version = client.patch(
                f"/api/v1/trips/{trip['id']}", json={"visibility": "public"}, headers=owner
            ).json()["data"]["version"]
        if archived:
            version = client.delete(f"/api/v1/trips/{trip['id']}", headers=owner).json()["data"][
                "version"
            ]
        else:  # reads come from the read model: let it catch up first
            shown = client.get(f"/api/v1/trips/{trip['id']}?min_version={version}", headers=owner)
            assert not shown.json()["meta"]["stale"]
        members = {name: p["X-User"] for name, p in people.items()}
        return Scene(trip["id"], destination["id"], activity["id"], members, version)

    mismatches = []
    for endpoint, (call, expected) in MATRIX.items():
        for role, status in zip(ROLES, expected, strict=True):
            fresh = scene(public=role == "public outsider", archived=endpoint == "POST restore")
            fresh.acting = role if role in people else "outsider"
            response = call(client, fresh, as_role[role])
            if response.status_code != status:
                mismatches.append(
                    f"{endpoint} as {role}: {response.status_code} (expected {status}) "
                    f"{response.json().get('error')}"
                )
    assert mismatches == []
