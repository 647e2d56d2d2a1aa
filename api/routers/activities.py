from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import Acting, ExpectedVersion, Planner
from api.routers.commands import command_response
from api.schemas import CreateActivityBody
from write_side.trips.commands import AddActivity

router = APIRouter(prefix="/activities", tags=["activities"])


@router.post("", status_code=201)
def create_activity(
    request: Request,
    body: CreateActivityBody,
    planner: Planner,
    acting: Acting,
    expected_version: ExpectedVersion,
) -> JSONResponse:
    """Add an activity to a destination; its times must lie within the destination's dates."""
    result = planner.add_activity(
        AddActivity(
            destination_id=body.destination_id,
            title=body.title,
            description=body.description,
            activity_type=body.activity_type,
            start_time=body.start_time,
            end_time=body.end_time,
            cost=body.cost,
            expected_version=expected_version,
        ),
        acting,
    )
    return command_response(
        request, result, action="create", entity="activity", context=acting, status_code=201
    )
