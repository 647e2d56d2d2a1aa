"""Who may do what to a trip: roles, the actions they allow, and trip visibility."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"


class Visibility(StrEnum):
    PRIVATE = "private"  # members only
    SHARED = "shared"  # members only; marks a trip planned with others
    PUBLIC = "public"  # readable by every signed-in user


class Action(StrEnum):
    READ = "read the trip"
    READ_HISTORY = "read the trip's history"
    EDIT = "change the trip's details and content"
    MANAGE = "manage members, visibility and archiving"
    RESTORE = "restore an archived trip"


ALLOWED: dict[Role, frozenset[Action]] = {
    Role.OWNER: frozenset(Action),
    Role.EDITOR: frozenset({Action.READ, Action.READ_HISTORY, Action.EDIT}),
    Role.VIEWER: frozenset({Action.READ, Action.READ_HISTORY}),
}


class TripStatus(StrEnum):
    DRAFT = "draft"
    PLANNED = "planned"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


NEXT_STATUSES: dict[TripStatus, frozenset[TripStatus]] = {
    TripStatus.DRAFT: frozenset({TripStatus.PLANNED, TripStatus.CANCELLED}),
    TripStatus.PLANNED: frozenset({TripStatus.ACTIVE, TripStatus.CANCELLED}),
    TripStatus.ACTIVE: frozenset({TripStatus.COMPLETED, TripStatus.CANCELLED}),
    TripStatus.COMPLETED: frozenset(),
    TripStatus.CANCELLED: frozenset(),
}


# The statuses in which a trip's itinerary (destinations, activities) and dates are frozen.
CLOSED: frozenset[TripStatus] = frozenset({TripStatus.COMPLETED, TripStatus.CANCELLED})
