"""Recommendations for a trip: activities and destinations that public trips planned near its
destinations, ranked by how much they resemble the trip (sentence embeddings, cosine), how
close they are and how many trips chose them, each with the reason it was suggested.

The embeddings are made by the recommendation catalogue projection (its tables' adapter),
never while a request waits: a request compares vectors already stored, and matches the
`interests` it is given by their words (`recommendation_scoring.interest_matches`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol
from uuid import UUID

from read_side.views import View

Vector = tuple[float, ...]  # L2-normalised: a dot product is the cosine
SuggestionKind = Literal["activity", "destination"]


class Embedder(Protocol):
    """Texts into vectors of one model. Slow (a neural model): called by the projection's
    adapter off the event loop, never on a request's path."""

    @property
    def model(self) -> str:
        """The name recorded with each vector: only vectors of one model are compared."""
        ...

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        """One L2-normalised vector per text, in order (all zeros for a text with no words)."""
        ...


@dataclass(frozen=True)
class Suggestion:
    kind: SuggestionKind
    key: str  # stable: f"{source_trip_id}:{entity_id}"
    title: str
    description: str
    activity_type: str | None  # activities
    lat: float
    lng: float
    near_destination_id: UUID | None  # the trip's destination it is near
    distance_km: float | None
    similarity: float
    score: float
    reason: str  # "Popular near Lisbon (3 public trips, 1.2 km away); matches your ..."
    cost: Decimal | None = None
    currency: str | None = None


class Recommendations(Protocol):
    @property
    def model(self) -> str:
        """The embedding model whose vectors are compared."""
        ...

    async def for_trip(
        self, trip_id: UUID, *, interests: Sequence[str] = (), limit: int = 20
    ) -> list[Suggestion]:
        """Up to `limit` activities, then up to `limit` destinations, each kind by score
        (highest first). Never the trip's own items, nor anything of a private or archived
        trip; empty while the projection has not seen the trip."""
        ...


class SuggestionView(View):
    key: str
    title: str
    description: str
    activity_type: str | None
    lat: float
    lng: float
    near_destination_id: UUID | None
    distance_km: float | None
    similarity: float
    score: float
    reason: str
    cost: Decimal | None
    currency: str | None


class RecommendationsView(View):
    trip_id: UUID
    activities: tuple[SuggestionView, ...]
    destinations: tuple[SuggestionView, ...]


def recommendations_view(trip_id: UUID, found: Sequence[Suggestion]) -> RecommendationsView:
    def view(s: Suggestion) -> SuggestionView:
        return SuggestionView(
            key=s.key,
            title=s.title,
            description=s.description,
            activity_type=s.activity_type,
            lat=s.lat,
            lng=s.lng,
            near_destination_id=s.near_destination_id,
            distance_km=s.distance_km,
            similarity=s.similarity,
            score=s.score,
            reason=s.reason,
            cost=s.cost,
            currency=s.currency,
        )

    return RecommendationsView(
        trip_id=trip_id,
        activities=tuple(view(s) for s in found if s.kind == "activity"),
        destinations=tuple(view(s) for s in found if s.kind == "destination"),
    )
