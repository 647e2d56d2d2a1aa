"""Analytics: one trip's, for its members; every trip's by day, for operators."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import AccountsService, AppContainer, CurrentUser, TripReading
from api.envelope import ok
from api.openapi import AUTHENTICATED, errors, success
from read_side import analytics as reads
from read_side import queries
from read_side.analytics import OverviewView, TripAnalyticsView
from read_side.errors import DateRangeError, OperatorsOnlyError

MAX_OVERVIEW_DAYS = 366
DEFAULT_OVERVIEW_DAYS = 30

router = APIRouter(tags=["analytics"], responses=errors({**AUTHENTICATED}))

NO_FIGURES: dict[str, Any] = {
    "currency": None,
    "status": "draft",
    "members": {},
    "destinations": {},
    "activities": {},
    "contributions": {},
}


@router.get(
    "/trips/{trip_id}/analytics",
    responses={
        **success(TripAnalyticsView),
        **errors({403: "members_only", 404: "trip_not_found"}),
    },
)
async def trip_analytics(
    request: Request,
    trip_id: UUID,
    reading: TripReading,
    container: AppContainer,
    user_id: CurrentUser,
) -> JSONResponse:
    """The trip's budget (per currency: the whole trip, per day, per destination, per
    activity type), planned hours per day, and who contributed what. Members only."""
    found = await queries.member_detail(reading, trip_id, user_id, "analytics")
    figures = await container.analytics.trip_figures(trip_id) or NO_FIGURES
    messages = await container.analytics.messages_by_member(trip_id)
    # Names the analytics do not keep, from the trip's view and the directory.
    names = {str(d.id): d.name for d in found.view.destinations}
    who = set(messages) | {UUID(user) for user in figures["contributions"]}
    usernames = await container.users.usernames(who)
    view = reads.trip_analytics(trip_id, figures, messages, names, usernames)
    return ok(request, view, meta={"caught_up": figures is not NO_FIGURES})


@router.get(
    "/analytics/overview",
    responses={
        **success(OverviewView),
        **errors({403: "operators_only", 422: "invalid_date_range"}),
    },
)
async def analytics_overview(
    request: Request,
    container: AppContainer,
    accounts: AccountsService,
    user_id: CurrentUser,
    first: Annotated[date | None, Query(alias="from", description="First day (UTC)")] = None,
    last: Annotated[date | None, Query(alias="to", description="Last day (UTC), included")] = None,
) -> JSONResponse:
    """Every trip's activity by day: trips created and completed, active trips and users,
    destinations by country, activities by type, spend per currency, messages, members
    joined. Operators only; default: the last 30 days; at most 366 days at once."""
    if not await run_in_threadpool(accounts.is_admin, user_id):
        raise OperatorsOnlyError()
    last = last or datetime.now(UTC).date()
    # The default range, cut at the calendar's first day (`to=0001-01-02` is a date too).
    first = first or last - timedelta(days=min(DEFAULT_OVERVIEW_DAYS - 1, (last - date.min).days))
    if first > last or (last - first).days >= MAX_OVERVIEW_DAYS:
        raise DateRangeError(f"`from` must be on or before `to`, at most {MAX_OVERVIEW_DAYS} days")
    rows = await container.analytics.daily(first, last)
    active = await container.analytics.active(first, last)
    return ok(request, reads.overview(first, last, rows, active))
