"""Itinerary drafts: asked for by an editor or owner (the job runs elsewhere, the API never
waits on a model), read by the trip's members, accepted item by item."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import Acting, AppContainer, CurrentUser, Idempotent, TripReading
from api.draft_schemas import AcceptanceView, AcceptBody, DraftQueuedView, DraftRequestBody
from api.envelope import ok
from api.errors import code_of
from api.openapi import AUTHENTICATED, COMMAND, errors, success
from read_side import queries
from read_side.drafts import (
    DraftDetailView,
    DraftSummaryView,
    detail_view,
    draft_at,
    summary_view,
)
from write_side.planner.acceptance import ItemOutcome
from write_side.planner.draft import ItineraryDraft
from write_side.planner.errors import DraftNotFoundError

router = APIRouter(
    prefix="/trips/{trip_id}/itinerary-drafts",
    tags=["itinerary drafts"],
    responses=errors({**AUTHENTICATED, 404: "trip_not_found, draft_not_found"}),
)


@router.post(
    "",
    status_code=202,
    responses={
        **success(DraftQueuedView, status=202),
        **errors({**COMMAND, 429: "quota_exceeded, rate_limited"}),
    },
)
async def request_draft(
    request: Request,
    trip_id: UUID,
    body: DraftRequestBody,
    container: AppContainer,
    acting: Acting,
    idempotent: Idempotent,
) -> JSONResponse:
    """Ask for an itinerary draft of the trip (editors and owners). Answers 202 at once with
    the draft's id; follow it at `Location` (or hear of it on `/ws/notifications/`). With
    `Idempotency-Key`, a retry answers the same draft. Each user may have
    `ITINERA_PLANNER_DAILY_QUOTA` drafts made per UTC day (429 `quota_exceeded` after)."""
    context = idempotent.applied_to(acting, body)
    result = await run_in_threadpool(
        container.draft_jobs.request, trip_id, body.preferences(), context
    )
    status = "queued"
    if result.replayed:  # asked before: as it is now
        status = (await run_in_threadpool(container.draft_jobs.draft, result.id)).status.value
    else:
        container.submit_draft(result.id)
    location = f"/api/v1/trips/{trip_id}/itinerary-drafts/{result.id}/"
    return ok(
        request,
        {"id": result.id, "draft_id": result.id, "trip_id": trip_id, "status": status},
        status_code=202,
        meta={"model": container.draft_jobs.model},
        headers={
            "Location": location,
            **({"Idempotent-Replayed": "true"} if result.replayed else {}),
        },
    )


async def _member(reading: TripReading, trip_id: UUID, user_id: UUID) -> None:
    """The caller is one of the trip's members (any role)."""
    await queries.member_detail(reading, trip_id, user_id, "itinerary drafts")


@router.get(
    "",
    responses={**success(list[DraftSummaryView]), **errors({403: "members_only"})},
)
async def list_drafts(
    request: Request,
    trip_id: UUID,
    container: AppContainer,
    reading: TripReading,
    user_id: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JSONResponse:
    """The trip's drafts, newest first (members only)."""
    await _member(reading, trip_id, user_id)
    found = await container.drafts.of_trip(trip_id, limit)
    return ok(request, [summary_view(v) for v in found])


@router.get(
    "/{draft_id}",
    responses={**success(DraftDetailView), **errors({403: "members_only"})},
)
async def get_draft(
    request: Request,
    trip_id: UUID,
    draft_id: UUID,
    container: AppContainer,
    reading: TripReading,
    user_id: CurrentUser,
) -> JSONResponse:
    """A draft: its status (`queued`, `running`, `ready`, `failed` with a reason), the
    days and items, what it cost (model, tokens in and out, cost, seconds), and which items
    were accepted by whom. Members only."""
    await _member(reading, trip_id, user_id)
    version = await run_in_threadpool(container.events.newest_version, draft_id)
    if version is None:
        raise DraftNotFoundError(draft_id)
    view, caught_up = await draft_at(
        container.drafts, reading.changes, draft_id, version, reading.timeout
    )
    if view is None or view["trip_id"] != str(trip_id):
        # Not projected yet, or another trip's: the event store says which.
        draft = await run_in_threadpool(container.draft_jobs.draft, draft_id)
        if draft.trip_id != trip_id:
            raise DraftNotFoundError(draft_id)
        return ok(
            request,
            _unprojected(draft),
            meta={"stale": True, "stale_reason": "not_yet_visible"},
        )
    return ok(request, detail_view(view), meta={"stale": not caught_up})


def _unprojected(draft: ItineraryDraft) -> dict[str, object]:
    """A draft the read model does not show yet, as far as the event store tells."""
    return {
        "id": draft.id,
        "trip_id": draft.trip_id,
        "status": draft.status.value,
        "requested_by": draft.requested_by,
        "requested_at": draft.created_on,
        "finished_at": None,
        "model": None,
        "started_at": None,
        "attempts": draft.attempts,
        "preferences": draft.preferences,
        "trip_version": draft.trip_version,
        "draft": None,
        "usage": None,
        "failure": None,
        "accepted": {},
    }


def _item(outcome: ItemOutcome) -> dict[str, object]:
    error = None
    if outcome.error is not None:
        found = code_of(outcome.error)
        error = {"code": found[1] if found else "refused", "message": str(outcome.error)}
    return {
        "item_id": outcome.item_id,
        "kind": outcome.kind,
        "outcome": outcome.outcome,
        "entity_id": outcome.entity_id,
        "error": error,
    }


@router.post(
    "/{draft_id}/accept",
    responses={
        **success(AcceptanceView),
        **errors({**COMMAND, 409: "draft_not_ready", 422: "unknown_draft_item"}),
    },
)
async def accept_draft(
    request: Request,
    trip_id: UUID,
    draft_id: UUID,
    body: AcceptBody,
    container: AppContainer,
    acting: Acting,
) -> JSONResponse:
    """Accept items of a ready draft into the trip (editors and owners): each becomes an
    ordinary command (a new destination or activity, or a time for an activity the trip
    had), checked against the trip as it is now. Each item answers `accepted`,
    `already_accepted` (accepting again changes nothing) or `refused` with the error code
    the command would have answered; refused items stay in the draft. The trip's history
    names the acceptance (`causation_id`) that made each change."""
    draft = await run_in_threadpool(container.draft_jobs.draft, draft_id)
    if draft.trip_id != trip_id:
        raise DraftNotFoundError(draft_id)
    accepted = await run_in_threadpool(
        container.draft_acceptance.accept, draft_id, body.item_ids, acting
    )
    return ok(
        request,
        {
            "acceptance_id": accepted.acceptance_id,
            "draft_id": draft_id,
            "trip_id": trip_id,
            "version": accepted.trip_version,
            "items": [_item(o) for o in accepted.outcomes],
        },
        headers={"ETag": f'"{accepted.trip_version}"'},
    )
