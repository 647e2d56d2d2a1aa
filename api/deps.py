"""Dependencies, as `Annotated` aliases routers can name in their signatures."""

from __future__ import annotations

import re
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError
from api.idempotency import IdempotencyKey
from api.reading import ChatAuthority, InboxAuthority, PlannerAuthority
from api.throttle import Limit, count
from infra.wiring import Container, current_traceparent
from read_side.chat import ChatReading
from read_side.notifications import NotificationReading
from read_side.queries import Reading
from read_side.users import UserDirectory
from write_side.chat.service import Chat
from write_side.context import CommandContext
from write_side.errors import AuthenticationError
from write_side.identity.accounts import Accounts
from write_side.identity.tokens import Claims
from write_side.notifications.service import Notifications
from write_side.trips.planner import TripPlanner

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')
_bearer = HTTPBearer(auto_error=False, description="An access token from /api/v1/auth/login")


def _app(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


# Dependencies are coroutines where they do no blocking work: FastAPI runs a plain function
# in a worker thread, a hop that costs more than what most of them do.
async def _container(request: Request) -> Container:
    return _app(request)


async def _planner(request: Request) -> TripPlanner:
    return _app(request).planner


async def _accounts(request: Request) -> Accounts:
    return _app(request).accounts


async def _users(request: Request) -> UserDirectory:
    return _app(request).users


async def _claims(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Claims:
    """The verified access token of the request; every failure is the same 401."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("no bearer token")
    claims = await _app(request).verified_tokens.claims(credentials.credentials)
    request.state.actor_id = claims.user_id
    return claims


async def _current_user(claims: Annotated[Claims, Depends(_claims)]) -> UUID:
    return claims.user_id


async def _paced(request: Request) -> None:
    """Writes wait while the trip views trail them too far (infra/write_pacing.py)."""
    await _app(request).write_pacing.admit()


def _command_context(
    request: Request,
    user_id: Annotated[UUID, Depends(_current_user)],
    _: Annotated[None, Depends(_paced)],
) -> CommandContext:
    """The actor of a write, within the per-user write quota, once writes are paced."""
    settings = _app(request).settings
    count(
        _app(request).rate_limiter,
        Limit(f"writes:{user_id}", settings.writes_per_user, settings.writes_window_seconds),
    )
    return CommandContext(
        actor_id=user_id,
        correlation_id=request.state.correlation_id,
        # The request's server span when tracing is on, else the context it came with.
        traceparent=current_traceparent() or request.state.traceparent,
    )


IF_MATCH = (
    'The trip version you last saw, as its ETag (`"3"`; `W/"3"` and `3` are read alike): the '
    "change is refused with 412 and the current version if the trip has moved on (for an "
    "activity, only if a field you change has). `*` matches any current version (RFC 9110)."
)


async def _expected_version(
    if_match: Annotated[str | None, Header(description=IF_MATCH)] = None,
) -> int | None:
    """The version named by `If-Match: "N"`; None without a precondition (or `*`)."""
    if if_match is None or if_match.strip() == "*":
        return None
    match = _ETAG.match(if_match)
    if match is None:
        raise ApiError(400, "invalid_if_match", 'If-Match must be a version ETag such as "3"')
    return int(match.group(1))


async def _idempotent(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=255,
            description="Name the command to retry it safely: it runs once, and a retry with "
            "the same key and body gets the first result (`Idempotent-Replayed: true`); the "
            "same key with another request is refused (422 idempotency_key_reused). Keys are "
            "per user and kept with the command's events.",
        ),
    ] = None,
) -> IdempotencyKey:
    return IdempotencyKey(idempotency_key, request.url.path.rstrip("/"))


async def _reading(request: Request) -> Reading:
    container = _app(request)
    return Reading(
        store=container.trips,
        authority=PlannerAuthority(container.planner),
        changes=container.changes,
        timeout=container.settings.consistency_timeout,
    )


def chat_reading(container: Container) -> ChatReading:
    return ChatReading(
        history=container.chat_history,
        authority=ChatAuthority(container.chat),
        users=container.users,
        unread=container.notification_store,
        changes=container.changes,
        timeout=container.settings.consistency_timeout,
    )


async def _chat_reading(request: Request) -> ChatReading:
    return chat_reading(_app(request))


def notification_reading(container: Container) -> NotificationReading:
    return NotificationReading(
        store=container.notification_store,
        inboxes=InboxAuthority(container.notifications),
        changes=container.changes,
        timeout=container.settings.consistency_timeout,
    )


async def _notification_reading(request: Request) -> NotificationReading:
    return notification_reading(_app(request))


async def _notifications(request: Request) -> Notifications:
    return _app(request).notifications


async def _chat(request: Request) -> Chat:
    return _app(request).chat


MIN_VERSION_DESCRIPTION = (
    "Wait (up to ITINERA_CONSISTENCY_TIMEOUT seconds) until the trip's view reflects this "
    "version, as returned by a command: read-your-writes. A version the trip has not reached "
    "is refused with 422 min_version_ahead."
)


AppContainer = Annotated[Container, Depends(_container)]
Planner = Annotated[TripPlanner, Depends(_planner)]
AccountsService = Annotated[Accounts, Depends(_accounts)]
Users = Annotated[UserDirectory, Depends(_users)]
CurrentClaims = Annotated[Claims, Depends(_claims)]
CurrentUser = Annotated[UUID, Depends(_current_user)]
Acting = Annotated[CommandContext, Depends(_command_context)]
ExpectedVersion = Annotated[int | None, Depends(_expected_version)]
TripReading = Annotated[Reading, Depends(_reading)]
RoomReading = Annotated[ChatReading, Depends(_chat_reading)]
ChatService = Annotated[Chat, Depends(_chat)]
InboxReading = Annotated[NotificationReading, Depends(_notification_reading)]
NotificationService = Annotated[Notifications, Depends(_notifications)]
MinVersion = Annotated[int | None, Query(ge=1, le=2**31 - 1, description=MIN_VERSION_DESCRIPTION)]
Idempotent = Annotated[IdempotencyKey, Depends(_idempotent)]
