"""Recommendations: what public trips planned near a trip's destinations, for its members."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.deps import AppContainer, CurrentUser, TripReading
from api.envelope import ok
from api.openapi import AUTHENTICATED, errors, success
from read_side import queries
from read_side.recommendations import (
    RecommendationsView,
    recommendations_view,
)

MAX_INTERESTS = 10

router = APIRouter(tags=["recommendations"], responses=errors({**AUTHENTICATED}))


@router.get(
    "/trips/{trip_id}/recommendations",
    responses={
        **success(RecommendationsView),
        **errors({403: "members_only", 404: "trip_not_found"}),
    },
)
async def trip_recommendations(
    request: Request,
    trip_id: UUID,
    reading: TripReading,
    container: AppContainer,
    user_id: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=50, description="Most suggestions of each kind")] = 20,
    interests: Annotated[
        str | None,
        Query(
            max_length=500,
            description="Comma-separated, e.g. `food,museums`: matched "
            "against the suggestions' words (a bonus, and a reason)",
        ),
    ] = None,
) -> JSONResponse:
    """Activities and destinations that public trips planned near this trip's destinations,
    ranked by resemblance to the trip (sentence embeddings), nearness and popularity, each
    with its reason. Members only."""
    await queries.member_detail(reading, trip_id, user_id, "recommendations")
    asked = _interests(interests)
    recommendations = container.recommendations
    suggestions = await recommendations.for_trip(trip_id, interests=asked, limit=limit)
    meta = {"model": recommendations.model, "interests": asked}
    return ok(request, recommendations_view(trip_id, suggestions), meta=meta)


def _interests(given: str | None) -> list[str]:
    found = [part.strip() for part in (given or "").split(",") if part.strip()]
    return list(dict.fromkeys(found))[:MAX_INTERESTS]
