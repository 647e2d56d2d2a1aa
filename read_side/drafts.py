"""Itinerary drafts as the API serves them, from the drafts projection's table: for the
trip's members only (who is a member comes from the trip, as for every trip read)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol
from uuid import UUID

from read_side.store import ProjectionChanges, reached
from read_side.views import View

DraftStatusName = Literal["queued", "running", "ready", "failed"]
PROJECTION = "itinerary_drafts"


class DraftStore(Protocol):
    async def get(self, draft_id: UUID) -> dict[str, Any] | None:
        """The draft's view (None: not projected yet, or no such draft)."""
        ...

    async def of_trip(self, trip_id: UUID, limit: int) -> list[dict[str, Any]]:
        """The trip's drafts, newest first."""
        ...

    async def unfinished(self, limit: int) -> list[UUID]:
        """Drafts queued or running, oldest first: the jobs a runner should (re)take."""
        ...


async def draft_at(
    store: DraftStore,
    changes: ProjectionChanges | None,
    draft_id: UUID,
    version: int,
    timeout: float,
) -> tuple[dict[str, Any] | None, bool]:
    """The draft's view once it shows `version` (the event store's, read first), waiting at
    most `timeout`: the view found, and whether it is that current."""
    found: dict[str, Any] | None = None

    async def current() -> bool:
        nonlocal found
        found = await store.get(draft_id)
        return found is not None and found["version"] >= version

    caught_up = await reached(changes, PROJECTION, timeout, current)
    return found, caught_up


class DraftItemBody(View):
    item_id: UUID
    title: str
    description: str
    activity_type: str
    destination_id: UUID | None
    new_destination: str | None
    start: str  # local wall-clock time, ISO 8601 without offset
    end: str
    time_zone: str
    cost: Decimal | None
    currency: str | None
    reason: str
    idea_key: str | None
    accepted: bool


class DraftDayBody(View):
    date: date
    items: list[DraftItemBody]


class DraftDestinationBody(View):
    item_id: UUID
    key: str
    name: str
    description: str
    location: dict[str, float]
    time_zone: str
    arrival_date: date
    departure_date: date
    reason: str
    accepted: bool


class LeftoverBody(View):
    key: str
    title: str
    reason: str


class DraftBody(View):
    summary: str
    days: list[DraftDayBody]
    destinations: list[DraftDestinationBody]
    leftovers: list[LeftoverBody]


class DraftUsageBody(View):
    model: str
    tokens_in: int
    tokens_out: int
    cost: Decimal
    currency: str
    attempts: int
    reasks: int
    seconds: float
    cached: bool
    repaired: list[dict[str, str]]


class DraftFailureBody(View):
    reason: str
    message: str
    refunded: bool


class AcceptedBody(View):
    kind: str
    entity_id: UUID | None
    accepted_by: UUID
    accepted_at: datetime
    acceptance_id: UUID


class DraftSummaryView(View):
    id: UUID
    trip_id: UUID
    status: DraftStatusName
    requested_by: UUID
    requested_at: datetime
    finished_at: datetime | None
    model: str | None


class DraftDetailView(DraftSummaryView):
    started_at: datetime | None
    attempts: int
    preferences: dict[str, Any]
    trip_version: int
    draft: DraftBody | None
    usage: DraftUsageBody | None
    failure: DraftFailureBody | None
    accepted: dict[str, AcceptedBody]


def summary_view(view: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": view["draft_id"],
        "trip_id": view["trip_id"],
        "status": view["status"],
        "requested_by": view["requested_by"],
        "requested_at": view["requested_at"],
        "finished_at": view["finished_at"],
        "model": view["model"],
    }


def detail_view(view: dict[str, Any]) -> dict[str, Any]:
    """The draft with each item marked accepted or not (JSON values, as stored)."""
    accepted = view["accepted"]
    draft = view["draft"]
    if draft is not None:
        draft = {
            "summary": draft["summary"],
            "days": [
                {
                    "date": day["date"],
                    "items": [
                        {**item, "accepted": item["item_id"] in accepted} for item in day["items"]
                    ],
                }
                for day in draft["days"]
            ],
            "destinations": [
                {**d, "accepted": d["item_id"] in accepted} for d in draft["destinations"]
            ],
            "leftovers": draft["leftovers"],
        }
    return {
        **summary_view(view),
        "started_at": view["started_at"],
        "attempts": view["attempts"],
        "preferences": view["preferences"],
        "trip_version": view["trip_version"],
        "draft": draft,
        "usage": view["usage"],
        "failure": view["failure"],
        "accepted": accepted,
    }
