"""The user directory projection: (user contract event, current profile) → new profile."""

from __future__ import annotations

from projections.versioning import ProjectionGapError, is_next
from read_side.users import UserProfileView
from streams.contracts import EventEnvelope
from streams.user_contracts import (
    UserDeactivated,
    UserPasswordChanged,
    UserProfileUpdated,
    UserRegistered,
)


def project_user(event: EventEnvelope, current: UserProfileView | None) -> UserProfileView | None:
    """The new profile for `event`, or None when the profile already reflects it."""
    if not is_next(event, None if current is None else current.version):
        return None
    if isinstance(event, UserRegistered):
        return UserProfileView(
            id=event.aggregate_id,
            version=event.aggregate_version,
            username=event.payload.username,
            first_name=event.payload.first_name,
            last_name=event.payload.last_name,
            bio="",
            avatar_url="",
            is_active=True,
        )
    if current is None:
        raise ProjectionGapError(event, None)
    changes: dict[str, object] = {"version": event.aggregate_version}
    if isinstance(event, UserProfileUpdated):
        changes.update(event.payload.model_dump())
    elif isinstance(event, UserDeactivated):
        changes["is_active"] = False
    elif not isinstance(event, UserPasswordChanged):
        raise TypeError(f"No user projection for {event.event_type}")
    return current.model_copy(update=changes)
