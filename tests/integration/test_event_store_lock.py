"""A save that cannot get a lock it needs in time fails fast and clearly (503) instead of
queueing behind a stuck schema change; and, with no table lock of its own, it does not wait
for VACUUM (autovacuum is not cancelled by writers, nor do writers stall behind an
anti-wraparound VACUUM)."""

from __future__ import annotations

import time
from datetime import date

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from infra.database import build_event_store, prepare_database
from infra.settings import Settings
from tests.integration.engine_support import someone
from write_side.errors import EventStoreUnavailableError
from write_side.trips.commands import PlanTrip
from write_side.trips.planner import TripPlanner

pytestmark = pytest.mark.integration


def test_a_save_waits_no_longer_than_the_lock_timeout(database_url: str) -> None:
    settings = Settings(database_url=database_url, event_store_lock_timeout=1)
    prepare_database(settings)
    planner = TripPlanner(build_event_store(settings))
    try:
        with psycopg.connect(database_url) as holder:
            holder.execute("LOCK TABLE itinera_events IN EXCLUSIVE MODE")  # a stuck writer
            started = time.monotonic()
            with pytest.raises(EventStoreUnavailableError, match="lock timeout"):
                planner.plan_trip(
                    PlanTrip("Blocked", "", date(2027, 1, 1), date(2027, 1, 2)), someone()
                )
            waited = time.monotonic() - started
            holder.rollback()
        assert waited < 10  # one lock timeout, not eventsourcing's ten retries of it
        planner.plan_trip(PlanTrip("Free", "", date(2027, 1, 1), date(2027, 1, 2)), someone())
    finally:
        planner.events.close()


def test_the_api_answers_503_while_the_event_store_is_locked(api_settings, signup) -> None:
    user = {"Authorization": signup()["Authorization"]}
    impatient = api_settings.model_copy(update={"event_store_lock_timeout": 1})
    with (
        TestClient(create_app(impatient), raise_server_exceptions=False) as client,
        psycopg.connect(api_settings.database_url or "") as holder,
    ):
        holder.execute("SET lock_timeout = '5s'")
        holder.execute("LOCK TABLE itinera_events IN EXCLUSIVE MODE")
        response = client.post(
            "/api/v1/trips",
            json={"title": "T", "start_date": "2027-01-01", "end_date": "2027-01-02"},
            headers=user,
        )
        holder.rollback()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "event_store_unavailable"
    assert response.headers["retry-after"] == "1"


def test_saves_go_on_beside_a_vacuum_of_the_events_table(database_url: str) -> None:
    """VACUUM holds SHARE UPDATE EXCLUSIVE on the table for its whole run; the table lock
    saves used to take (EXCLUSIVE) conflicts with it, an insert (ROW EXCLUSIVE) does not."""
    settings = Settings(database_url=database_url, event_store_lock_timeout=1)
    prepare_database(settings)
    planner = TripPlanner(build_event_store(settings))
    try:
        with psycopg.connect(database_url) as vacuum:
            vacuum.execute("LOCK TABLE itinera_events IN SHARE UPDATE EXCLUSIVE MODE")
            saved = [
                planner.plan_trip(
                    PlanTrip(f"During VACUUM {n}", "", date(2027, 1, 1), date(2027, 1, 2)),
                    someone(),
                )
                for n in range(3)
            ]
            vacuum.rollback()
        assert [result.version for result in saved] == [1, 1, 1]
    finally:
        planner.events.close()
