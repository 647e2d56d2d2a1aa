"""Recommendations on PostgreSQL, from the recommendation catalogue's tables: candidates of
other trips inside the boxes around the trip's destinations (indexed latitude and
longitude), scored in Python against the trip's profile vector. No model runs here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

from infra.embeddings import embedder
from infra.embeddings.vectors import from_bytes
from infra.settings import Settings
from read_side.recommendation_scoring import (
    DESTINATION_REACH,
    Candidate,
    Place,
    TripContext,
    bounding_boxes,
    normalised_title,
    rank,
)
from read_side.recommendations import Suggestion

MOST_CANDIDATES = 5000  # per request: bounds the scoring's time where trips crowd

_TRIP = "SELECT state, model, embedding FROM recommendation_trips WHERE trip_id = %s"
_CANDIDATES = (
    "SELECT i.kind, i.trip_id, i.item_id, i.title, i.description, i.activity_type, i.lat,"
    " i.lng, i.embedding, i.cost, i.currency FROM recommendation_items i"
    " WHERE i.trip_id <> %(trip)s AND i.model = %(model)s AND i.item_id IN ("
    "  SELECT c.item_id FROM unnest(%(south)s::float8[], %(north)s::float8[],"
    "  %(west)s::float8[], %(east)s::float8[], %(reach)s::float8[])"
    "  AS b(south, north, west, east, reach) JOIN recommendation_items c"
    "  ON c.lat BETWEEN b.south AND b.north AND c.lng BETWEEN b.west AND b.east"
    "  AND (c.kind = 'destination' OR b.reach = 1))"
    " LIMIT %(most)s"
)


def recommendations(settings: Settings, pool: AsyncConnectionPool) -> PostgresRecommendations:
    """The recommendations the settings describe: their radius, and the vectors of the model
    that embeds the catalogue."""
    return PostgresRecommendations(
        pool, settings.recommendation_radius_km, embedder(settings).model
    )


class PostgresRecommendations:
    def __init__(self, pool: AsyncConnectionPool, radius_km: float, model: str) -> None:
        self._pool = pool
        self._radius_km = radius_km
        self._model = model

    @property
    def model(self) -> str:
        return self._model

    async def for_trip(
        self, trip_id: UUID, *, interests: Sequence[str] = (), limit: int = 20
    ) -> list[Suggestion]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_TRIP, (trip_id,))
            row = await cursor.fetchone()
            if row is None:
                return []
            state, profile_model, embedding = row
            trip = _context(state, from_bytes(embedding) if profile_model == self._model else None)
            if not trip.places:
                return []
            cursor = await conn.execute(_CANDIDATES, self._boxes(trip_id, trip.places))
            candidates = [_candidate(found) for found in await cursor.fetchall()]
        return rank(trip, candidates, interests=interests, radius_km=self._radius_km, limit=limit)

    def _boxes(self, trip_id: UUID, places: Sequence[Place]) -> dict[str, Any]:
        """A box for activities (the radius) and one for destinations (further) around each
        of the trip's destinations; `reach` 1 marks the activities' boxes."""
        found: dict[str, Any] = {"trip": trip_id, "model": self._model, "most": MOST_CANDIDATES}
        columns: dict[str, list[float]] = {k: [] for k in ("south", "north", "west", "east")}
        reach: list[float] = []
        for place in places:
            for scale in (1.0, DESTINATION_REACH):
                for box in bounding_boxes(place.lat, place.lng, self._radius_km * scale):
                    columns["south"].append(box.south)
                    columns["north"].append(box.north)
                    columns["west"].append(box.west)
                    columns["east"].append(box.east)
                    reach.append(scale)
        return found | columns | {"reach": reach}


def _context(state: dict[str, Any], profile: tuple[float, ...] | None) -> TripContext:
    destinations = state["destinations"]
    return TripContext(
        places=tuple(
            Place(UUID(destination_id), place["name"], place["lat"], place["lng"])
            for destination_id, place in sorted(destinations.items())
        ),
        own_titles=frozenset(normalised_title(a["title"]) for a in state["activities"].values()),
        own_names=frozenset(normalised_title(d["name"]) for d in destinations.values()),
        profile=profile,
    )


def _candidate(row: tuple[Any, ...]) -> Candidate:
    kind, trip_id, item_id, title, description, activity_type, lat, lng, embedding = row[:9]
    return Candidate(
        kind=kind,
        trip_id=trip_id,
        item_id=item_id,
        title=title,
        description=description,
        activity_type=activity_type,
        lat=lat,
        lng=lng,
        vector=from_bytes(embedding),
        cost=row[9],
        currency=row[10],
    )
