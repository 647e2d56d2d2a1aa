"""Dependencies, as `Annotated` aliases routers can name in their signatures."""

from __future__ import annotations

import re
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, Request

from api.errors import ApiError
from infra.wiring import Container
from read_side.store import TripReadStore
from write_side.application import TripPlanner
from write_side.context import CommandContext

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')


def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def _planner(request: Request) -> TripPlanner:
    return _container(request).planner


def _read_store(request: Request) -> TripReadStore:
    return _container(request).read_store


def _current_user(x_user_id: Annotated[str | None, Header()] = None) -> UUID:
    """Until accounts land, the acting user is named by the `X-User-Id` header (a UUID)."""
    if not x_user_id:
        raise ApiError(401, "unauthenticated", "Authentication required")
    try:
        return UUID(x_user_id)
    except ValueError:
        raise ApiError(401, "unauthenticated", "Authentication required") from None


def _command_context(
    request: Request, user_id: Annotated[UUID, Depends(_current_user)]
) -> CommandContext:
    return CommandContext(actor_id=user_id, correlation_id=request.state.correlation_id)


def _expected_version(if_match: Annotated[str | None, Header()] = None) -> int | None:
    """The version named by `If-Match: "N"`, if any."""
    if if_match is None:
        return None
    match = _ETAG.match(if_match)
    if match is None:
        raise ApiError(400, "invalid_if_match", 'If-Match must be a version ETag such as "3"')
    return int(match.group(1))


Planner = Annotated[TripPlanner, Depends(_planner)]
ReadStore = Annotated[TripReadStore, Depends(_read_store)]
CurrentUser = Annotated[UUID, Depends(_current_user)]
Acting = Annotated[CommandContext, Depends(_command_context)]
ExpectedVersion = Annotated[int | None, Depends(_expected_version)]


def _consistency_timeout(request: Request) -> float:
    return _container(request).settings.consistency_timeout


ConsistencyTimeout = Annotated[float, Depends(_consistency_timeout)]
