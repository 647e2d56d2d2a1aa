"""How the API reads trips: the read store, woken by projection commits, and the event
store's word whenever a view cannot be trusted to decide who may read it."""

from __future__ import annotations

from uuid import UUID

from starlette.concurrency import run_in_threadpool

from read_side import queries
from read_side.errors import (
    ActivityViewNotFoundError,
    DestinationViewNotFoundError,
    TripViewNotFoundError,
)
from read_side.queries import Consistent, Reading
from read_side.views import ActivityView, DestinationView
from write_side.chat.service import Chat
from write_side.notifications.service import Notifications
from write_side.trips.planner import TripPlanner


class PlannerAuthority:
    """Answers from the trip's stream in the event store (the read side's TripAuthority)."""

    def __init__(self, planner: TripPlanner) -> None:
        self._planner = planner

    async def readable_by(self, trip_id: UUID, user_id: UUID) -> bool:
        return await run_in_threadpool(self._planner.may_read, trip_id, user_id)

    async def version(self, trip_id: UUID) -> int | None:
        return await run_in_threadpool(self._planner.current_version, trip_id)


class ChatAuthority:
    """Who may use a room and how far it goes, from the event store (the read side's
    RoomAuthority)."""

    def __init__(self, chat: Chat) -> None:
        self._chat = chat

    async def check_member(self, trip_id: UUID, user_id: UUID) -> tuple[str, int]:
        trip = await run_in_threadpool(self._chat.check_member, trip_id, user_id)
        return trip.title, len(trip.members)

    async def head(self, trip_id: UUID) -> int:
        return await run_in_threadpool(self._chat.head, trip_id)


class InboxAuthority:
    """How far a user's inbox goes, from the event store (the read side's InboxVersions)."""

    def __init__(self, notifications: Notifications) -> None:
        self._notifications = notifications

    async def version(self, user_id: UUID) -> tuple[UUID, int]:
        return await run_in_threadpool(self._notifications.version, user_id)


async def destination_read(
    reading: Reading,
    planner: TripPlanner,
    destination_id: UUID,
    user_id: UUID,
    min_version: int | None,
) -> tuple[DestinationView, Consistent]:
    """A destination and the trip view it was read from, fresh as `queries.trip_detail`. Its
    trip is found in the event store (one just added is in no view yet); an unknown
    destination and one in a trip the caller cannot read are the same 404."""
    trip_id = await run_in_threadpool(planner.trip_id_of_destination, destination_id)
    try:
        found = await queries.trip_detail(reading, trip_id, user_id, min_version=min_version)
    except TripViewNotFoundError:
        raise DestinationViewNotFoundError(destination_id) from None
    return queries.destination_in(found, destination_id), found


async def activity_read(
    reading: Reading,
    planner: TripPlanner,
    activity_id: UUID,
    user_id: UUID,
    min_version: int | None,
) -> tuple[ActivityView, Consistent]:
    """An activity and the trip view it was read from, as `destination_read`."""
    trip_id = await run_in_threadpool(planner.trip_id_of_activity, activity_id)
    try:
        found = await queries.trip_detail(reading, trip_id, user_id, min_version=min_version)
    except TripViewNotFoundError:
        raise ActivityViewNotFoundError(activity_id) from None
    return queries.activity_in(found, activity_id), found
