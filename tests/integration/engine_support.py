"""The projection engine over a real PostgreSQL: the event store, the trip planner, every
projection's tables and the embedded projector, for integration tests."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from infra.database import build_event_store, open_read_pool, prepare_database
from infra.engine_wiring import EngineUnit, ProjectionEngine, projection_engine
from infra.postgres.projections.names import LIVE
from infra.postgres.projections.schema import owned_tables
from infra.settings import Settings
from projections.embedded import EmbeddedProjector
from streams.outbox import OutboxReader
from write_side.context import CommandContext
from write_side.trips.commands import PlanTrip, UpdateTripDetails
from write_side.trips.planner import TripPlanner

# Rows of every table of a projection, ordered, without the time of day of bookkeeping.
_ORDER = {
    "trip_views": "trip_id",
    "user_trips": "user_id, trip_id",
    "trip_items": "item_id",
    "user_directory": "user_id",
    "trip_views_tracking": "aggregate_id",
    "user_directory_tracking": "aggregate_id",
    "trip_views_dead_letters": "aggregate_id, aggregate_version",
    "user_directory_dead_letters": "aggregate_id, aggregate_version",
}
_COLUMNS = {  # dead letters: not their ids or times, which differ between two runs
    "trip_views_dead_letters": "aggregate_id, aggregate_version, event_type, failed",
    "user_directory_dead_letters": "aggregate_id, aggregate_version, event_type, failed",
}


@dataclass
class EngineStack:
    settings: Settings
    planner: TripPlanner
    pool: AsyncConnectionPool
    engine: ProjectionEngine

    def projector(self) -> EmbeddedProjector:
        return EmbeddedProjector(OutboxReader(self.planner.events), self.engine.appliers())

    def unit(self, name: str) -> EngineUnit:
        (unit,) = [u for u in self.engine.units if u.projection.name == name]
        return unit

    async def rows(self, name: str) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of the projection's live tables, in a stable order."""
        found = {}
        async with self.pool.connection() as conn:
            for table in owned_tables(self.unit(name).schema.tables):
                query = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
                    sql.SQL(_COLUMNS.get(table, "*")),
                    LIVE.table(table),
                    sql.SQL(_ORDER[table]),
                )
                cursor = await conn.execute(query)
                found[table] = await cursor.fetchall()
        return found


@contextlib.asynccontextmanager
async def engine_stack(database_url: str, **overrides: Any) -> AsyncIterator[EngineStack]:
    settings = Settings(database_url=database_url, rebuild_jobs=1, **overrides)
    prepare_database(settings)
    events = build_event_store(settings)
    pool = await open_read_pool(settings)
    engine = projection_engine(settings, pool, events, OutboxReader(events))
    try:
        yield EngineStack(settings, TripPlanner(events), pool, engine)
    finally:
        engine.close()
        await pool.close()
        events.close()


def someone() -> CommandContext:
    return CommandContext(actor_id=uuid.uuid4(), correlation_id=uuid.uuid4())


def plan_trips(planner: TripPlanner, count: int, updates: int = 2) -> list[uuid.UUID]:
    ids = []
    for n in range(count):
        owner = someone()
        trip = planner.plan_trip(
            PlanTrip(f"Trip {n}", "", date(2027, 5, 1), date(2027, 5, 9)), owner
        )
        for m in range(updates):
            planner.update_trip_details(UpdateTripDetails(trip.trip_id, title=f"T{n}.{m}"), owner)
        ids.append(trip.trip_id)
    return ids
