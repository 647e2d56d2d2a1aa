"""Reads the event store's notification log in order and turns it into publishable contracts.

The log is the outbox: the relay (distributed mode) and the in-process projector (embedded
mode) both read it through this class, so both see the same contracts in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.popo import POPOApplicationRecorder

from streams.contracts import EventEnvelope
from streams.headers import Cause
from streams.mapping import stored_topics_of
from streams.position import LogPosition, PositionedLog
from streams.stored import contract_of_stored

# Counting a backlog goes no further than this many events (then notification ids estimate).
BACKLOG_COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class OutboxMessage:
    position: LogPosition
    topic: str
    key: bytes
    event: EventEnvelope
    cause: Cause = field(default_factory=Cause)


@dataclass(frozen=True)
class OutboxBatch:
    """Messages after a position; `last_position` also covers unpublished notifications, and
    `read` counts every notification the batch covered. `waiting`: nothing was readable, but
    events are committed after the position, behind a transaction still open (they become
    readable when it ends, which sends no notice: look again soon)."""

    messages: list[OutboxMessage]
    last_position: LogPosition
    read: int
    waiting: bool = False


class OutboxReader:
    def __init__(self, application: Any) -> None:
        """`application` is an eventsourcing Application (it owns the recorder and mapper)."""
        self._recorder = application.recorder
        self._mapper = application.mapper
        if not isinstance(self._recorder, (PositionedLog, POPOApplicationRecorder)):
            # Read by notification id alone, a recorder whose writers commit out of id order
            # would lose events: only the in-memory one (one writer at a time) may.
            raise TypeError(f"{type(self._recorder).__name__} cannot be read in position order")

    def read_after(self, position: LogPosition, limit: int) -> OutboxBatch:
        """The next notifications after `position` that are safe to pass: a reader that
        moves past them will never find an event committing behind it."""
        found = self._after(position, limit)
        messages = []
        for at, notification in found:
            mapped = contract_of_stored(
                notification.topic,
                cast(UUID, notification.originator_id),  # the store's ids are UUIDs
                notification.originator_version,
                notification.state,
                partial(self._mapper.to_domain_event, notification),
            )
            if mapped is None:
                continue
            messages.append(
                OutboxMessage(
                    position=at,
                    topic=mapped.topic,
                    key=str(mapped.event.partition_key()).encode(),
                    event=mapped.event,
                    cause=mapped.cause,
                )
            )
        if not found:
            waiting = isinstance(self._recorder, PositionedLog) and (
                self._recorder.count_after(position, 1) > 0
            )
            return OutboxBatch(messages=[], last_position=position, read=0, waiting=waiting)
        return OutboxBatch(messages=messages, last_position=found[-1][0], read=len(found))

    def _after(self, position: LogPosition, limit: int) -> list[tuple[LogPosition, Notification]]:
        if isinstance(self._recorder, PositionedLog):
            return self._recorder.notifications_after(position, limit)
        # A recorder that commits in id order (in memory): the transaction part is 0.
        notifications = self._recorder.select_notifications(
            start=position.notification + 1, limit=limit
        )
        return [(LogPosition(0, n.id), n) for n in notifications]

    def head(self) -> LogPosition:
        """The newest readable position (START when the log is empty)."""
        if isinstance(self._recorder, PositionedLog):
            return self._recorder.readable_head()
        return LogPosition(0, int(self._recorder.max_notification_id() or 0))

    def recorded_head(self) -> LogPosition:
        """The newest committed position: readable once the transactions older than it end
        (what a reader reaches if it waits for them)."""
        if isinstance(self._recorder, PositionedLog):
            return self._recorder.recorded_head()
        return self.head()

    def backlog(self, position: LogPosition) -> int:
        """How many events are recorded after `position` (readable or waiting behind a
        transaction still open): counted up to BACKLOG_COUNT_LIMIT, estimated from
        notification ids beyond."""
        newest = int(self._recorder.max_notification_id() or 0)
        if not isinstance(self._recorder, PositionedLog):
            return max(newest - position.notification, 0)
        counted = self._recorder.count_after(position, BACKLOG_COUNT_LIMIT)
        if counted < BACKLOG_COUNT_LIMIT:
            return counted
        return max(newest - position.notification, counted)

    def events_of(
        self, aggregate_id: UUID, after_version: int, *topics: str
    ) -> list[EventEnvelope]:
        """One aggregate's published events after a version, in order (from its stream)."""
        wanted = set(stored_topics_of(*topics)) if topics else None
        found = []
        for stored in self._recorder.select_events(aggregate_id, gt=after_version):
            if wanted is not None and stored.topic not in wanted:
                continue
            mapped = contract_of_stored(
                stored.topic,
                stored.originator_id,
                stored.originator_version,
                stored.state,
                partial(self._mapper.to_domain_event, stored),
            )
            if mapped is not None:
                found.append(mapped.event)
        return found
