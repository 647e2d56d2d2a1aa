"""The notifications projection: each user's notifications, from their inbox's events. Pure.

An inbox holds many notifications, so its state is not one document: a batch folds into the
row changes it calls for, in order, and the store applies them (`NotificationOps`).
"""

from __future__ import annotations

from typing import Any, TypedDict

from projections.engine.projection import Projection
from streams import notification_contracts as n
from streams.contracts import EventEnvelope
from streams.topics import USER_EVENTS
from streams.user_contracts import (
    ACCOUNT_CONTRACTS,
    UserAdminGranted,
    UserDeactivated,
    UserPasswordChanged,
    UserProfileUpdated,
    UserRegistered,
)


class NotificationOps(TypedDict):
    """Row changes, in order: ("add", row), ("count", id, count, message, at),
    ("read", id), ("read_all", user_id, through)."""

    ops: list[list[Any]]


def _fresh(_: NotificationOps) -> NotificationOps:
    return NotificationOps(ops=[])


NOTIFICATIONS: Projection[NotificationOps] = Projection(
    name="notifications", version=1, topics=(USER_EVENTS,), begin=_fresh
)
NOTIFICATIONS.ignores(
    UserRegistered,
    UserProfileUpdated,
    UserPasswordChanged,
    UserDeactivated,
    UserAdminGranted,
    *ACCOUNT_CONTRACTS,
    n.InboxOpened,
)


def _with(state: NotificationOps | None, *op: Any) -> NotificationOps:
    found = state if state is not None else NotificationOps(ops=[])
    found["ops"].append(list(op))
    return found


def _row(event: EventEnvelope, payload: Any, type_: str, trip_id: Any, related: Any) -> Any:
    at = event.occurred_at.isoformat()
    return {
        "id": str(payload.notification_id),
        "user_id": str(payload.user_id),
        "type": type_,
        "title": payload.title,
        "message": payload.message,
        "related_trip": None if trip_id is None else str(trip_id),
        "related_user": None if related is None else str(related),
        "count": 1,
        "created_at": at,
        "updated_at": at,
    }


@NOTIFICATIONS.applies(n.NotificationAdded)
def _added(state: NotificationOps | None, event: n.NotificationAdded) -> NotificationOps:
    p = event.payload
    return _with(state, "add", _row(event, p, p.type, p.trip_id, p.related_user))


@NOTIFICATIONS.applies(n.ActivityReminded)
def _reminded(state: NotificationOps | None, event: n.ActivityReminded) -> NotificationOps:
    p = event.payload
    return _with(state, "add", _row(event, p, "activity_reminder", p.trip_id, None))


@NOTIFICATIONS.applies(n.NotificationCoalesced)
def _coalesced(state: NotificationOps | None, event: n.NotificationCoalesced) -> NotificationOps:
    p = event.payload
    at = event.occurred_at.isoformat()
    return _with(state, "count", str(p.notification_id), p.count, p.message, at)


@NOTIFICATIONS.applies(n.NotificationRead)
def _read(state: NotificationOps | None, event: n.NotificationRead) -> NotificationOps:
    return _with(state, "read", str(event.payload.notification_id))


@NOTIFICATIONS.applies(n.AllNotificationsRead)
def _all_read(state: NotificationOps | None, event: n.AllNotificationsRead) -> NotificationOps:
    p = event.payload
    return _with(state, "read_all", str(p.user_id), p.through.isoformat())
