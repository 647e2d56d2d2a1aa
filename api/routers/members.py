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
    Users,
)
from api.envelope import in_joining_order, page
from api.openapi import COMMAND, CURSOR, CommandResultBody, errors, success
from api.routers.commands import command_response
from api.schemas import AddMemberBody, MemberRoleBody
from read_side import queries
from read_side.views import MemberView
from write_side.trips.commands import AddMember, ChangeMemberRole, RemoveMember

router = APIRouter(
    prefix="/trips/{trip_id}/members",
    tags=["members"],
    responses=errors(
        {**COMMAND, 404: "trip_not_found, member_not_found, user_not_found", 409: "already_member"}
    ),
)


@router.post("", status_code=201, responses=success(CommandResultBody, status=201))
def add_member(
    request: Request,
    trip_id: UUID,
    body: AddMemberBody,
    planner: Planner,
    acting: Acting,
    expected_version: ExpectedVersion,
    idempotent: Idempotent,
) -> JSONResponse:
    """Add a user to the trip with a role (owners). Errors: 409 already_member, 404."""
    result = planner.add_member(
        AddMember(trip_id, body.user_id, body.role, expected_version),
        idempotent.applied_to(acting, body),
    )
    return command_response(
        request, result, action="add", entity="member", context=acting, status_code=201
    )


@router.get("", responses=success(list[MemberView]))
async def list_members(
    request: Request,
    trip_id: UUID,
    reading: TripReading,
    users: Users,
    user_id: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description=CURSOR)] = None,
    offset: Annotated[int, Query(ge=0, description="Older clients: prefer cursor")] = 0,
    min_version: MinVersion = None,
) -> JSONResponse:
    """The trip's members and their roles, a page at a time."""
    found = await queries.trip_detail(reading, trip_id, user_id, min_version=min_version)
    view = await queries.with_usernames(users, found.view)
    return page(
        request,
        view.members,
        key=in_joining_order,
        limit=limit,
        cursor=cursor,
        offset=offset,
        found=found,
    )


@router.patch("/{member_id}", responses=success(CommandResultBody))
def change_member_role(
    request: Request,
    trip_id: UUID,
    member_id: UUID,
    body: MemberRoleBody,
    planner: Planner,
    acting: Acting,
    expected_version: ExpectedVersion,
) -> JSONResponse:
    """Change a member's role (owners); the last owner cannot be demoted."""
    result = planner.change_member_role(
        ChangeMemberRole(trip_id, member_id, body.role, expected_version), acting
    )
    return command_response(request, result, action="update", entity="member", context=acting)


@router.delete("/{member_id}", responses=success(CommandResultBody))
def remove_member(
    request: Request,
    trip_id: UUID,
    member_id: UUID,
    planner: Planner,
    acting: Acting,
    expected_version: ExpectedVersion,
) -> JSONResponse:
    """Remove a member (owners), or leave the trip (yourself); the last owner cannot leave."""
    result = planner.remove_member(RemoveMember(trip_id, member_id, expected_version), acting)
    return command_response(request, result, action="remove", entity="member", context=acting)
