"""An ambiguous commit does not run a command twice: when the connection drops after the
server committed an append and before the client heard, the event store finds its own events
and answers as if the reply had arrived, instead of retrying into "version taken", which the
application would read as a concurrent writer and run the command again."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from infra.database import build_event_store, prepare_database
from infra.settings import Settings
from tests.e2e.proxy import CuttableProxy
from tests.integration.engine_support import someone
from tests.services import as_url, free_port
from write_side.context import CommandContext
from write_side.trips.commands import AddDestination, PlanTrip
from write_side.trips.planner import TripPlanner

pytestmark = pytest.mark.integration

INSERT = b"itinera_insert_events_in_order"


def through(proxy: CuttableProxy, database_url: str) -> TripPlanner:
    """A planner whose event store talks to PostgreSQL through the proxy."""
    params = conninfo_to_dict(database_url)
    params.update(host="127.0.0.1", port=str(proxy.listen_port))
    return TripPlanner(build_event_store(Settings(database_url=as_url(make_conninfo(**params)))))


@pytest.fixture
def proxy(database_url: str):
    prepare_database(Settings(database_url=database_url))
    params = conninfo_to_dict(database_url)
    running = CuttableProxy(free_port(), int(params.get("port") or 5432))
    yield running
    running.close()


def test_a_command_whose_commit_reply_was_lost_is_applied_once(database_url, proxy) -> None:
    direct = TripPlanner(build_event_store(Settings(database_url=database_url)))
    owner = someone()
    trip = direct.plan_trip(PlanTrip("Alps", "", date(2027, 2, 1), date(2027, 2, 9)), owner)
    planner = through(proxy, database_url)  # a fresh connection: the insert goes by name
    try:
        proxy.lose_the_reply_to(INSERT)
        added = planner.add_destination(
            AddDestination(
                trip.trip_id,
                "Zermatt",
                "",
                {"lat": 46.0, "lng": 7.7},
                date(2027, 2, 2),
                date(2027, 2, 5),
            ),
            CommandContext(actor_id=owner.actor_id, correlation_id=uuid4()),
        )
        stored = direct.get_trip(trip.trip_id)
        assert [d.name for d in stored.destinations.values()] == ["Zermatt"]
        assert added.version == stored.version == 2
    finally:
        planner.events.close()
        direct.events.close()


def test_a_new_trip_whose_commit_reply_was_lost_is_created_once(database_url, proxy) -> None:
    planner = through(proxy, database_url)
    direct = TripPlanner(build_event_store(Settings(database_url=database_url)))
    try:
        proxy.lose_the_reply_to(INSERT)
        created = planner.plan_trip(
            PlanTrip("Alps", "", date(2027, 2, 1), date(2027, 2, 9)), someone()
        )
        assert direct.get_trip(created.trip_id).version == created.version == 1
    finally:
        planner.events.close()
        direct.events.close()
