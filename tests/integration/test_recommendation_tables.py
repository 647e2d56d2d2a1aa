"""The recommendation catalogue's tables on a real PostgreSQL: a live batch embeds only the
texts that changed, a rebuild takes the live tables' vectors instead of embedding again,
and a rebuild with another model embeds everything again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from infra.embeddings import HashedEmbedder
from infra.postgres.projections.recommendation_tables import RecommendationTables
from infra.postgres.projections.schema import ProjectionSchema
from projections.embedded import EmbeddedProjector
from projections.engine.applier import Applier, RetryPolicy
from projections.engine.rebuild import rebuild
from projections.recommendation_catalogue import RECOMMENDATION_CATALOGUE
from read_side.recommendations import Vector
from streams.outbox import OutboxReader
from tests.integration.engine_support import engine_stack, someone
from write_side.context import CommandContext
from write_side.trips.access import Visibility
from write_side.trips.commands import AddActivity, AddDestination, PlanTrip, UpdateActivity
from write_side.trips.commands import UpdateTripDetails as Update
from write_side.trips.itinerary import ActivityType
from write_side.trips.planner import TripPlanner

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


class CountingEmbedder:
    """The hashed embedder, counting the texts it embeds (under a model name of its own)."""

    def __init__(self, model: str = "hashed-384-v1") -> None:
        self.model = model
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        self.texts += len(texts)
        return HashedEmbedder().embed(texts)


def _public_trip(planner: TripPlanner, n: int) -> tuple[Any, CommandContext, Any]:
    owner = someone()
    trip = planner.plan_trip(
        PlanTrip(f"Trip {n}", "Food and tiles", date(2027, 5, 1), date(2027, 5, 9)), owner
    )
    where = {"lat": 38.72 + n / 1000, "lng": -9.14}
    place = planner.add_destination(
        AddDestination(trip.trip_id, "Lisbon", "", where, date(2027, 5, 2), date(2027, 5, 4)),
        owner,
    )
    activity = planner.add_activity(
        AddActivity(place.id, f"Market {n}", "Fish stalls", ActivityType.RESTAURANT), owner
    )
    planner.update_trip_details(Update(trip.trip_id, visibility=Visibility.PUBLIC), owner)
    return trip.trip_id, owner, activity.id


async def _rows(pool: AsyncConnectionPool) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    async with pool.connection() as conn:
        for table, key in (
            ("recommendation_trips", "trip_id"),
            ("recommendation_items", "item_id"),
        ):
            cursor = await conn.execute(f"SELECT * FROM {table} ORDER BY {key}")
            found[table] = await cursor.fetchall()
    return found


async def test_a_live_batch_embeds_only_the_texts_that_changed(database_url: str) -> None:
    async with engine_stack(database_url) as stack:
        counting = CountingEmbedder()
        schema = ProjectionSchema(stack.pool, RecommendationTables(counting))
        outbox = OutboxReader(stack.planner.events)
        applier = Applier(RECOMMENDATION_CATALOGUE, schema.store(), outbox, RetryPolicy(1, 0.01))
        projector = EmbeddedProjector(outbox, [applier])
        trip_id, owner, activity_id = _public_trip(stack.planner, 0)
        await projector.catch_up()
        assert counting.texts == 3  # the trip's profile, its destination, its activity
        rows = await _rows(stack.pool)
        assert sorted(r[2] for r in rows["recommendation_items"]) == ["activity", "destination"]

        stack.planner.update_activity(UpdateActivity(activity_id, {"cost": Decimal("9.50")}), owner)
        await projector.catch_up()
        assert counting.texts == 3  # the cost is stored, its words did not change
        costs = {r[9] for r in (await _rows(stack.pool))["recommendation_items"]}
        assert {str(c) for c in costs} == {"9.50", "None"}

        stack.planner.update_activity(UpdateActivity(activity_id, {"title": "Fish market"}), owner)
        await projector.catch_up()
        assert counting.texts == 5  # the activity, and the profile that lists it

        stack.planner.update_trip_details(Update(trip_id, visibility=Visibility.PRIVATE), owner)
        await projector.catch_up()
        rows = await _rows(stack.pool)
        assert rows["recommendation_items"] == [] and len(rows["recommendation_trips"]) == 1
        assert counting.texts == 5


async def test_a_rebuild_reuses_live_vectors_and_another_model_embeds_all_again(
    database_url: str,
) -> None:
    async with engine_stack(database_url) as stack:
        for n in range(4):
            _public_trip(stack.planner, n)
        first = CountingEmbedder()
        await rebuild(
            RECOMMENDATION_CATALOGUE,
            ProjectionSchema(stack.pool, RecommendationTables(first)),
            stack.engine.events,
        )
        built = await _rows(stack.pool)
        assert first.texts == 4 * 3 and len(built["recommendation_items"]) == 4 * 2

        again = CountingEmbedder()
        schema = ProjectionSchema(stack.pool, RecommendationTables(again))
        await rebuild(RECOMMENDATION_CATALOGUE, schema, stack.engine.events)
        assert again.texts == 0
        assert await _rows(stack.pool) == built

        other = CountingEmbedder("hashed-other")
        schema = ProjectionSchema(stack.pool, RecommendationTables(other))
        await rebuild(RECOMMENDATION_CATALOGUE, schema, stack.engine.events)
        assert other.texts == 4 * 3
        rows = await _rows(stack.pool)
        models = {r[3] for r in rows["recommendation_trips"]} | {
            r[12] for r in rows["recommendation_items"]
        }
        assert models == {"hashed-other"}
