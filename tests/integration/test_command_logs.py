from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient


def test_every_command_logs_actor_action_entity_id_and_correlation_id(
    client: TestClient, user: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    me = client.get("/api/v1/users/me", headers=user).json()["data"]
    correlation_id = "6f9c3c1e-8d7b-4b8e-9f3a-2d1c0b9a8e7f"
    with caplog.at_level(logging.INFO, logger="itinera.commands"):
        created = client.post(
            "/api/v1/trips",
            headers={**user, "X-Correlation-Id": correlation_id},
            json={"title": "Oslo", "start_date": "2027-01-01", "end_date": "2027-01-03"},
        )
    assert created.status_code == 201
    trip_id = created.json()["data"]["id"]
    (line,) = [r.getMessage() for r in caplog.records if r.name == "itinera.commands"]
    assert f"action=create entity=trip id={trip_id} actor={me['id']}" in line
    assert f"correlation_id={correlation_id}" in line
    assert "Bearer" not in line and "password" not in line
