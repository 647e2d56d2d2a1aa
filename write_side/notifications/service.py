"""The notifications application service: deliver to inboxes, mark read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from write_side.context import CommandContext, acting_as
from write_side.errors import ConcurrencyConflictError
from write_side.event_store import EventStore
from write_side.notifications.inbox import Inbox, Note, NotificationType
from write_side.trips.trip import Trip

MAX_CONFLICT_RETRIES = 10


@dataclass(frozen=True)
class Delivered:
    """What an inbox did with a command: the notification it touched (None: nothing, it was
    seen before or already read), the inbox's version and its unread count."""

    notification_id: UUID | None
    version: int
    unread_count: int
    count: int = 1  # how many changes or messages the notification counts


class Notifications:
    def __init__(self, events: EventStore) -> None:
        self.events = events

    def members(self, trip_id: UUID) -> tuple[Trip | None, list[UUID]]:
        """The trip and its members now (none when it is gone or archived)."""
        trip = self.events.current(trip_id, Trip)
        if trip is None or trip.archived:
            return None, []
        return trip, list(trip.members)

    def change(
        self,
        user_id: UUID,
        context: CommandContext,
        act: Callable[[Inbox], UUID | bool | None],
    ) -> Delivered:
        """Load the user's inbox (opening it if new), act on it, save; retried on a
        concurrent write, which the act sees on the fresh inbox."""
        return self._write(user_id, [(context, act)])[-1]

    def deliver(self, user_id: UUID, note: Note, context: CommandContext) -> Delivered:
        return self.deliver_all(user_id, [(note, context)])[-1]

    def deliver_all(
        self, user_id: UUID, notes: Sequence[tuple[Note, CommandContext]]
    ) -> list[Delivered]:
        """Several notes into one inbox, in order, in one write (each recorded as done by
        its own context); what each did, with the inbox's counts after it."""
        return self._write(
            user_id, [(context, partial(Inbox.deliver, note=note)) for note, context in notes]
        )

    def remind(
        self,
        user_id: UUID,
        activity_id: UUID,
        starts_at: datetime,
        note: Note,
        context: CommandContext,
    ) -> Delivered:
        return self.change(
            user_id, context, lambda inbox: inbox.remind(activity_id, starts_at, note)
        )

    def read(self, user_id: UUID, notification_id: UUID, context: CommandContext) -> Delivered:
        return self.change(user_id, context, lambda inbox: inbox.read(notification_id))

    def read_room(self, user_id: UUID, trip_id: UUID, context: CommandContext) -> Delivered:
        """Nothing is written when there was nothing unread (the usual case)."""
        inbox = self.events.current(Inbox.create_id(user_id), Inbox)
        if inbox is None or f"{NotificationType.MESSAGE}:{trip_id}" not in inbox.open:
            return Delivered(
                None, inbox.version if inbox else 0, inbox.unread_count if inbox else 0
            )
        return self.change(user_id, context, lambda fresh: fresh.read_room(trip_id))

    def read_all(self, user_id: UUID, through: datetime, context: CommandContext) -> Delivered:
        return self.change(user_id, context, lambda inbox: inbox.read_all(through))

    def _write(
        self,
        user_id: UUID,
        acts: Sequence[tuple[CommandContext, Callable[[Inbox], UUID | bool | None]]],
    ) -> list[Delivered]:
        """Each act on the user's inbox (opened if new), in order and as its context, then
        one save; all again on the fresh inbox after a concurrent write. What each did,
        with the inbox's counts after it."""
        for _ in range(MAX_CONFLICT_RETRIES):
            outcomes: list[Delivered] = []
            inbox = self.events.find(Inbox.create_id(user_id), Inbox)
            for context, act in acts:
                with acting_as(context):
                    inbox = inbox or Inbox(user_id)
                    outcome = act(inbox)
                touched = outcome if isinstance(outcome, UUID) else None
                count = inbox.count_of(touched) if touched is not None else 1
                outcomes.append(Delivered(touched, inbox.version, inbox.unread_count, count))
            try:
                self.events.save(inbox)
            except IntegrityError:
                continue
            return outcomes
        raise ConcurrencyConflictError(Inbox.create_id(user_id))

    def inbox(self, user_id: UUID) -> Inbox | None:
        return self.events.find(Inbox.create_id(user_id), Inbox)

    def version(self, user_id: UUID) -> tuple[UUID, int]:
        """The user's inbox id and the version of its newest event (0: none yet)."""
        inbox_id = Inbox.create_id(user_id)
        return inbox_id, self.events.newest_version(inbox_id) or 0
