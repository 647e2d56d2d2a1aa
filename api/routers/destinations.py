from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import Acting, ExpectedVersion, Planner
from api.routers.commands import command_response
from api.schemas import CreateDestinationBody
from write_side.trips.commands import AddDestination

router = APIRouter(prefix="/destinations", tags=["destinations"])


@router.post("", status_code=201)
def create_destination(
    request: Request,
    body: CreateDestinationBody,
    planner: Planner,
    acting: Acting,
    expected_version: ExpectedVersion,
) -> JSONResponse:
    """Add a destination to a trip; its dates must lie within the trip's."""
    result = planner.add_destination(
        AddDestination(
            trip_id=body.trip_id,
            name=body.name,
            description=body.description,
            location=body.location_dict(),
            arrival_date=body.arrival_date,
            departure_date=body.departure_date,
            expected_version=expected_version,
        ),
        acting,
    )
    return command_response(
        request, result, action="create", entity="destination", context=acting, status_code=201
    )
