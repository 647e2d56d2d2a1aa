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
from api.reading import activity_read, destination_read
from api.routers.commands import command_response
from api.schemas import CreateActivityBody, ReorderBody, UpdateActivityBody
from read_side import queries
from read_side.views import ActivityView
from write_side.trips.commands import AddActivity, MoveActivity, RemoveActivity, UpdateActivity

router = APIRouter(
    prefix="/activities",
    tags=["activities"],
    responses=errors({**COMMAND, 404: "activity_not_found, destination_not_found"}),
)


@router.post("", status_code=201, responses=success(CommandResultBody, status=201))
def create_activity(
    request: Request,
    body: CreateActivityBody,
    planner: Planner,
    acting: Acting,
    expected_version: ExpectedVersion,
    idempotent: Idempotent,
) -> JSONResponse:
    """Add an activity to a destination, last; times are optional (an idea), local + zone."""
    result = planner.add_activity(
        AddActivity(
            destination_id=body.destination_id,
            title=body.title,
            description=body.description,
            activity_type=body.activity_type,
            start=body.starts(),
            end=body.ends(),
            cost=body.cost,
            currency=body.currency,
            expected_version=expected_version,
        ),
        idempotent.applied_to(acting, body),
    )
    return command_response(
        request, result, action="create", entity="activity", context=acting, status_code=201
    )


@router.get("", responses=success(list[ActivityView]))
async def list_activities(
    request: Request,
    destination_id: UUID,
    reading: TripReading,
    planner: Planner,
    user_id: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description=CURSOR)] = None,
    offset: Annotated[int, Query(ge=0, description="Older clients: prefer cursor")] = 0,
    min_version: MinVersion = None,
) -> JSONResponse:
    """A destination's activities in order, a page at a time."""
    destination, found = await destination_read(
        reading, planner, destination_id, user_id, min_version
    )
    return page(
        request,
        destination.activities,
        key=in_rank_order,
        limit=limit,
        cursor=cursor,
        offset=offset,
        found=found,
    )


@router.get("/{activity_id}", responses=success(ActivityView))
async def get_activity(
    request: Request,
    activity_id: UUID,
    reading: TripReading,
    planner: Planner,
    user_id: CurrentUser,
    min_version: MinVersion = None,
) -> JSONResponse:
    """One activity."""
    activity, found = await activity_read(reading, planner, activity_id, user_id, min_version)
    return read_response(request, activity, found)


@router.put("/{activity_id}", operation_id="put_activity", responses=success(CommandResultBody))
@router.patch("/{activity_id}", responses=success(CommandResultBody))
def update_activity(
    request: Request,
    activity_id: UUID,
    body: UpdateActivityBody,
    planner: Planner,
    acting: Acting,
    expected_version: ExpectedVersion,
) -> JSONResponse:
    """Change the fields sent. With If-Match, only a change to one of the same fields since
    that version is refused (412): editors changing different fields both succeed."""
    result = planner.update_activity(
        UpdateActivity(activity_id, body.changes(), expected_version), acting
    )
    return command_response(request, result, action="update", entity="activity", context=acting)


@router.delete("/{activity_id}", responses=success(CommandResultBody))
def remove_activity(
    request: Request,
    activity_id: UUID,
    planner: Planner,
    acting: Acting,
    expected_version: ExpectedVersion,
) -> JSONResponse:
    """Remove an activity."""
    result = planner.remove_activity(RemoveActivity(activity_id, expected_version), acting)
    return command_response(request, result, action="remove", entity="activity", context=acting)


@router.put("/{activity_id}/reorder", responses=success(CommandResultBody))
def reorder_activity(
    request: Request,
    activity_id: UUID,
    body: ReorderBody,
    planner: Planner,
    acting: Acting,
    expected_version: ExpectedVersion,
) -> JSONResponse:
    """Move an activity right after another of its destination (null: first)."""
    result = planner.move_activity(
        MoveActivity(activity_id, body.after_id, expected_version, position=body.order), acting
    )
    return command_response(request, result, action="reorder", entity="activity", context=acting)
