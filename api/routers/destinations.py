from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.deps import (
    Acting,
    CurrentUser,
    ExpectedVersion,
    Idempotent,
    MinVersion,
    Planner,
    TripReading,
)
from api.envelope import in_rank_order, page, read_response
from api.openapi import COMMAND, CURSOR, CommandResultBody, errors, success
from api.reading import destination_read
from api.routers.commands import command_response
from api.schemas import CreateDestinationBody, ReorderBody, UpdateDestinationBody
from read_side import queries
from read_side.views import DestinationView
from write_side.trips.commands import (
    AddDestination,
    MoveDestination,
    RemoveDestination,
    UpdateDestination,
)

router = APIRouter(
    prefix="/destinations",
    tags=["destinations"],
    responses=errors({**COMMAND, 404: "destination_not_found, trip_not_found"}),
)


@router.post("", status_code=201, responses=success(CommandResultBody, status=201))
def create_destination(
    request: Request,
    body: CreateDestinationBody,
    planner: Planner,
    acting: Acting,
    expected_version: ExpectedVersion,
    idempotent: Idempotent,
) -> JSONResponse:
    """Add a destination to a trip, last; its dates must lie within the trip's."""
    result = planner.add_destination(
        AddDestination(
            trip_id=body.trip_id,
            name=body.name,
            description=body.description,
            location=body.location_dict(),
            arrival_date=body.arrival_date,
            departure_date=body.departure_date,
            expected_version=expected_version,
            time_zone=body.time_zone,
        ),
        idempotent.applied_to(acting, body),
    )
    return command_response(
        request, result, action="create", entity="destination", context=acting, status_code=201
    )


@router.get("", responses=success(list[DestinationView]))
async def list_destinations(
    request: Request,
    trip_id: UUID,
    reading: TripReading,
    user_id: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description=CURSOR)] = None,
    offset: Annotated[int, Query(ge=0, description="Older clients: prefer cursor")] = 0,
    min_version: MinVersion = None,
) -> JSONResponse:
    """A trip's destinations in order, with their activities, a page at a time."""
    found = await queries.trip_detail(reading, trip_id, user_id, min_version=min_version)
    return page(
        request,
        found.view.destinations,
        key=in_rank_order,
        limit=limit,
        cursor=cursor,
        offset=offset,
        found=found,
    )


@router.get("/{destination_id}", responses=success(DestinationView))
async def get_destination(
    request: Request,
    destination_id: UUID,
    reading: TripReading,
    planner: Planner,
    user_id: CurrentUser,
    min_version: MinVersion = None,
) -> JSONResponse:
    """One destination with its activities in order."""
    destination, found = await destination_read(
        reading, planner, destination_id, user_id, min_version
    )
    return read_response(request, destination, found)


@router.put("/{destination_id}", responses=success(CommandResultBody))
def update_destination(
    request: Request,
    destination_id: UUID,
    body: UpdateDestinationBody,
    planner: Planner,
    acting: Acting,
    expected_version: ExpectedVersion,
) -> JSONResponse:
    """Replace a destination's details; its activities must still fit its dates."""
    result = planner.update_destination(
        UpdateDestination(
            destination_id=destination_id,
            name=body.name,
            description=body.description,
            location=body.location.model_dump(),
            arrival_date=body.arrival_date,
            departure_date=body.departure_date,
            expected_version=expected_version,
            time_zone=body.time_zone,
        ),
        acting,
    )
    return command_response(request, result, action="update", entity="destination", context=acting)


@router.delete("/{destination_id}", responses=success(CommandResultBody))
def remove_destination(
    request: Request,
    destination_id: UUID,
    planner: Planner,
    acting: Acting,
    expected_version: ExpectedVersion,
) -> JSONResponse:
    """Remove a destination and its activities."""
    result = planner.remove_destination(RemoveDestination(destination_id, expected_version), acting)
    return command_response(request, result, action="remove", entity="destination", context=acting)


@router.put("/{destination_id}/reorder", responses=success(CommandResultBody))
def reorder_destination(
    request: Request,
    destination_id: UUID,
    body: ReorderBody,
    planner: Planner,
    acting: Acting,
    expected_version: ExpectedVersion,
) -> JSONResponse:
    """Move a destination right after another (null: first); no other one is rewritten."""
    result = planner.move_destination(
        MoveDestination(destination_id, body.after_id, expected_version, position=body.order),
        acting,
    )
    return command_response(request, result, action="reorder", entity="destination", context=acting)
