from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from api.deps import (
    Acting,
    CurrentUser,
    ExpectedVersion,
    Idempotent,
    MinVersion,
    Planner,
    TripReading,
    Users,
)
from api.envelope import ok, read_response, served_page_response, served_response
from api.openapi import COMMAND, CURSOR, CommandResultBody, HistoryEntryBody, errors, success
from api.routers.commands import command_response
from api.schemas import CreateTripBody, UpdateTripBody
from read_side import queries, served_reads
from read_side.cursors import decode_cursor, encode_cursor
from read_side.errors import InvalidCursorError
from read_side.store import ServedTrip, ServedTripPage, TripFilter
from read_side.views import TripSummary, TripView
from streams.history import history_entries
from write_side.trips.access import Role, TripStatus
from write_side.trips.commands import ArchiveTrip, PlanTrip, RestoreTrip, UpdateTripDetails

router = APIRouter(
    prefix="/trips",
    tags=["trips"],
    responses=errors({**COMMAND, 400: "invalid_if_match, invalid_cursor", 404: "trip_not_found"}),
)


@router.post("", status_code=201, responses=success(CommandResultBody, status=201))
def create_trip(
    request: Request,
    body: CreateTripBody,
    planner: Planner,
    acting: Acting,
    idempotent: Idempotent,
) -> JSONResponse:
    """Plan a new trip; the caller becomes its owner."""
    result = planner.plan_trip(
        PlanTrip(
            title=body.title,
            description=body.description,
            start_date=body.start_date,
            end_date=body.end_date,
            currency=body.currency,
        ),
        idempotent.applied_to(acting, body),
    )
    return command_response(
        request, result, action="create", entity="trip", context=acting, status_code=201
    )


@router.put("/{trip_id}", operation_id="put_trip", responses=success(CommandResultBody))
@router.patch("/{trip_id}", responses=success(CommandResultBody))
def update_trip(
    request: Request,
    trip_id: UUID,
    body: UpdateTripBody,
    planner: Planner,
    acting: Acting,
    expected_version: ExpectedVersion,
) -> JSONResponse:
    """Change a trip's title, description or dates (If-Match: the version you saw)."""
    result = planner.update_trip_details(
        UpdateTripDetails(
            trip_id=trip_id,
            title=body.title,
            description=body.description,
            start_date=body.start_date,
            end_date=body.end_date,
            status=body.status,
            visibility=body.visibility,
            expected_version=expected_version,
            currency=body.currency,
        ),
        acting,
    )
    return command_response(request, result, action="update", entity="trip", context=acting)


@router.delete("/{trip_id}", responses=success(CommandResultBody))
def archive_trip(
    request: Request,
    trip_id: UUID,
    planner: Planner,
    acting: Acting,
    expected_version: ExpectedVersion,
) -> JSONResponse:
    """Archive a trip (owners): it leaves every list and query; the owner can restore it."""
    result = planner.archive_trip(ArchiveTrip(trip_id, expected_version), acting)
    return command_response(request, result, action="archive", entity="trip", context=acting)


@router.post("/{trip_id}/restore", responses=success(CommandResultBody))
def restore_trip(
    request: Request,
    trip_id: UUID,
    planner: Planner,
    acting: Acting,
    expected_version: ExpectedVersion,
    idempotent: Idempotent,
) -> JSONResponse:
    """Bring an archived trip back (its owners only)."""
    result = planner.restore_trip(
        RestoreTrip(trip_id, expected_version), idempotent.applied_to(acting, None)
    )
    return command_response(request, result, action="restore", entity="trip", context=acting)


@router.get("/{trip_id}/history", responses=success(list[HistoryEntryBody]))
def trip_history(
    request: Request,
    trip_id: UUID,
    planner: Planner,
    user_id: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description=CURSOR)] = None,
    after_version: Annotated[
        int, Query(ge=0, le=2**31 - 1, description="The same as a cursor: after this version")
    ] = 0,
) -> JSONResponse:
    """Who did what, when: the trip's events from the event store, oldest first, each with
    `changes` as the published contract's payload (the same as on Kafka)."""
    if cursor is not None:
        after_version = _version_in(cursor)
    events = planner.history(trip_id, user_id, after_version=after_version, limit=limit)
    entries = history_entries(events)
    last = entries[-1]["version"] if len(entries) == limit else None
    meta = {
        "next_cursor": None if last is None else encode_cursor(str(last)),
        "next_after_version": last,
        "limit": limit,
    }
    return ok(request, entries, meta=meta)


def _version_in(cursor: str) -> int:
    (version,) = decode_cursor(cursor, 1)
    if not version.isdigit() or len(version) > 10:
        raise InvalidCursorError("Malformed cursor")
    return int(version)


@router.get("/{trip_id}", responses=success(TripView))
async def get_trip(
    request: Request,
    trip_id: UUID,
    reading: TripReading,
    users: Users,
    user_id: CurrentUser,
    min_version: MinVersion = None,
) -> Response:
    """A trip with its members, destinations and activities; `min_version` waits for a write."""
    found = await served_reads.trip_to_serve(reading, trip_id, user_id, min_version=min_version)
    if isinstance(found, ServedTrip):
        return served_response(request, found)
    return read_response(request, await queries.with_usernames(users, found.view), found)


@router.get("", responses=success(list[TripSummary]))
async def list_trips(
    request: Request,
    reading: TripReading,
    user_id: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description=CURSOR)] = None,
    status: TripStatus | None = None,
    role: Role | None = None,
    from_date: Annotated[date | None, Query(alias="from")] = None,
    to_date: Annotated[date | None, Query(alias="to")] = None,
) -> Response:
    """The caller's trips by start date, a page at a time; filter by status, role, and the
    dates they overlap (`from`, `to`)."""
    where = TripFilter(
        status=status and str(status),
        role=role and str(role),
        from_date=from_date,
        to_date=to_date,
    )
    page = await served_reads.trips_to_serve(
        reading, user_id, limit=limit, after=cursor, where=where
    )
    if isinstance(page, ServedTripPage):
        return served_page_response(request, page, limit)
    return ok(request, page.items, meta={"next_cursor": page.next_cursor, "limit": limit})
