"""The seed's offline sync endpoints: push queued changes, pull what changed since a cursor,
see the sync status, resolve conflicts. The protocol, with a worked example, is in the
README ("Offline sync"); why it is built this way, in docs/design.md#offline-sync."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import Acting, AppContainer, CurrentUser
from api.envelope import error, ok, ok_json
from api.errors import ApiError, code_of
from api.openapi import AUTHENTICATED, errors, success
from api.sync_schemas import (
    ChangeIn,
    ClientId,
    InvalidChangeError,
    PullBody,
    PushBody,
    ResolveBody,
    parse_change,
    parse_changes,
)
from api.sync_views import (
    PullView,
    PushView,
    ResolutionView,
    StatusView,
    page_view,
    push_view,
    status_view,
    trip_writes,
)
from infra.wiring import metrics
from read_side.sync import ENTITY_TYPES, PullRequest
from write_side.errors import DomainError
from write_side.sync.changes import SyncChange

router = APIRouter(
    prefix="/sync",
    tags=["sync"],
    responses=errors(
        {
            **AUTHENTICATED,
            400: "invalid_cursor",
            404: "conflict_not_found",
            410: "sync_reset_required",
            413: "too_many_changes, payload_too_large",
            422: "validation_failed",
        }
    ),
)


def describe(exc: DomainError) -> tuple[str, str]:
    """A refused change's stable code (the one HTTP would answer) and message."""
    found = code_of(exc)
    return (found[1] if found else "refused"), str(exc)


@router.post("/push", responses=success(PushView))
async def push(
    request: Request, body: PushBody, acting: Acting, container: AppContainer
) -> JSONResponse:
    """Apply a client's queued changes, in order, each on its own: `applied`, `conflicts`
    and `errors` (and `results`, one per change in order). A change with a `mutation_id`
    is applied at most once: a retry gets its first outcome. A malformed change refuses
    the whole push (422), nothing applied."""
    limit = container.settings.sync_max_changes
    if len(body.changes) > limit:
        raise ApiError(
            413, "too_many_changes", f"A push carries at most {limit} changes: send batches"
        )
    try:
        changes = parse_changes(body.changes)
    except InvalidChangeError as invalid:
        return error(request, 422, "validation_failed", str(invalid), invalid.errors)
    outcomes = await run_in_threadpool(
        container.sync.push,
        acting.actor_id,
        body.client_id,
        changes,
        describe,
        acting.correlation_id,
    )
    for trip_id, version in trip_writes(outcomes):
        container.write_pacing.wrote(trip_id, version)
    view = push_view(outcomes)
    metrics.SYNC_PUSHES.inc()
    for status in ("applied", "conflicts", "errors"):
        if view[status]:
            metrics.SYNC_CHANGES.labels(_OUTCOME_LABELS[status]).inc(len(view[status]))
    return ok(request, view)


@router.get("/pull", responses=success(PullView))
async def pull(
    request: Request,
    user: CurrentUser,
    container: AppContainer,
    last_sync_timestamp: AwareDatetime | None = None,
    entity_types: Annotated[list[str] | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=64_000)] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    client_id: ClientId | None = None,
) -> Response:
    """What changed in the trips you are a member of since `cursor` (or, for seed clients,
    since `last_sync_timestamp`; neither: everything). Parameters as query parameters, or
    as the seed's JSON body."""
    given: dict[str, Any] = {
        "last_sync_timestamp": last_sync_timestamp,
        "entity_types": _split(entity_types),
        "cursor": cursor,
        "limit": limit,
        "client_id": client_id,
    }
    raw = await request.body()
    if raw.strip():
        try:
            sent = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ApiError(400, "invalid_json", "The body is not JSON") from None
        if not isinstance(sent, dict):
            raise ApiError(400, "invalid_json", "The body must be a JSON object")
        given.update({k: v for k, v in sent.items() if v is not None or k not in given})
    return await _pull(request, user, container, _validated(given))


@router.post("/pull", responses=success(PullView))
async def pull_posted(
    request: Request, body: PullBody, user: CurrentUser, container: AppContainer
) -> Response:
    """The same as `GET /sync/pull/`, for clients that cannot send a body with a GET."""
    return await _pull(request, user, container, body)


async def _pull(
    request: Request, user: CurrentUser, container: AppContainer, body: PullBody
) -> Response:
    wanted = set(body.entity_types or ENTITY_TYPES)
    types = tuple(t for t in ENTITY_TYPES if t in wanted)
    most = container.settings.sync_page_limit
    decoded = None
    if body.cursor is not None:
        decoded = container.sync_cursors.decode(body.cursor, user)
    page = await container.sync_feed.pull(
        PullRequest(
            user_id=user,
            entity_types=types,
            limit=min(body.limit or most, most),
            cursor=decoded,
            since=body.last_sync_timestamp,
            client_id=body.client_id,
        )
    )
    cursor = container.sync_cursors.encode(page.cursor)
    metrics.SYNC_PULLS.inc()
    return ok_json(request, page_view(page, cursor, body.client_id))


@router.get("/status", responses=success(StatusView))
async def status(
    request: Request, user: CurrentUser, container: AppContainer, client_id: ClientId | None = None
) -> JSONResponse:
    """Per client: last push and pull, open conflicts, rejected changes; per trip you can
    see: its version and the checksum of its entities (compare it with your replica's)."""
    found = await container.sync_feed.status(user, client_id)
    return ok(request, status_view(found))


@router.post("/resolve", responses=success(ResolutionView))
async def resolve(
    request: Request, body: ResolveBody, acting: Acting, container: AppContainer
) -> JSONResponse:
    """Settle one of your conflicts: `server_wins` (nothing applied), `client_wins` (your
    change applied as it was), `merge` / `manual` (`resolved_data` applied). Once per
    conflict: resolving again answers the first resolution."""
    user = acting.actor_id
    conflicted, settled = await run_in_threadpool(container.sync.conflict, body.conflict_id, user)
    change: SyncChange | None = None
    if settled is None and body.resolution_strategy != "server_wins":
        if body.resolution_strategy == "client_wins":
            data, action = conflicted.client_data or {}, conflicted.action
        elif body.resolved_data is None:
            raise ApiError(422, "validation_failed", "merge and manual need resolved_data")
        else:
            data, action = body.resolved_data, "update"
        try:
            change = parse_change(
                ChangeIn(
                    entity_type=conflicted.entity_type,
                    entity_id=conflicted.entity_id,
                    action=action,
                    data=data,
                )
            )
        except (ValidationError, InvalidChangeError) as invalid:
            raise ApiError(422, "validation_failed", f"resolved_data: {invalid}") from None
    resolution = await run_in_threadpool(
        container.sync.resolve, body.conflict_id, user, body.resolution_strategy, change, describe
    )
    return ok(
        request,
        ResolutionView(
            conflict_id=resolution.conflict_id,
            resolution_strategy=resolution.strategy,
            resolved_by=resolution.resolved_by,
            resolved_at=resolution.resolved_at,
            version=resolution.version,
            replayed=resolution.replayed,
        ),
    )


_OUTCOME_LABELS = {"applied": "applied", "conflicts": "conflict", "errors": "error"}


def _split(values: list[str] | None) -> list[str] | None:
    """`entity_types=trip,activity` or `entity_types=trip&entity_types=activity`."""
    if values is None:
        return None
    return [part for value in values for part in value.split(",") if part]


def _validated(given: dict[str, Any]) -> PullBody:
    try:
        return PullBody.model_validate(given)
    except ValidationError as invalid:
        raise RequestValidationError(invalid.errors()) from None
