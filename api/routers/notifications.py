"""The seed's notifications endpoints: list, mark one read, mark all read. Only the recipient
sees or marks a notification; marks are commands, kept as events of the user's inbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import Acting, CurrentClaims, InboxReading, NotificationService
from api.envelope import ok
from api.openapi import AUTHENTICATED, CURSOR, errors, success
from read_side import notifications as reads
from read_side.notifications import Kind, NotificationView
from read_side.queries import MAX_PAGE_SIZE, freshness
from write_side.errors import NotificationNotFoundError

router = APIRouter(
    prefix="/notifications",
    tags=["notifications"],
    responses=errors({**AUTHENTICATED, 404: "notification_not_found", 422: "validation_failed"}),
)


@router.get("", responses=success(list[NotificationView]))
async def list_notifications(
    request: Request,
    reading: InboxReading,
    claims: CurrentClaims,
    is_read: bool | None = None,
    type: Kind | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    cursor: Annotated[str | None, Query(max_length=200, description=CURSOR)] = None,
) -> JSONResponse:
    """Your notifications, newest first, with `meta.unread_count`; filters `is_read`, `type`."""
    fresh = await reads.caught_up(reading, claims.user_id)
    page = await reading.store.page(
        claims.user_id, is_read=is_read, kind=type, limit=limit, cursor=cursor
    )
    meta = {"unread_count": page.unread_count, "next_cursor": page.next_cursor, **freshness(fresh)}
    return ok(request, page.items, meta=meta)


@router.put("/read-all", responses=success(dict[str, int]))
async def read_all(
    request: Request, notifications: NotificationService, acting: Acting
) -> JSONResponse:
    """Mark everything received until now read (what arrives later stays unread)."""
    done = await run_in_threadpool(
        notifications.read_all, acting.actor_id, datetime.now(UTC), acting
    )
    return ok(request, {"unread_count": done.unread_count, "version": done.version})


@router.put("/{notification_id}/read", responses=success(NotificationView))
async def read_one(
    request: Request,
    notification_id: UUID,
    notifications: NotificationService,
    reading: InboxReading,
    acting: Acting,
) -> JSONResponse:
    """Mark one of your notifications read (again: no change)."""
    user_id = acting.actor_id
    done = await run_in_threadpool(notifications.read, user_id, notification_id, acting)
    fresh = await reads.caught_up(reading, user_id, done.version)
    found = await reading.store.get(user_id, notification_id)
    if found is None:
        raise NotificationNotFoundError(notification_id)
    return ok(request, found, meta={"unread_count": done.unread_count, **freshness(fresh)})
