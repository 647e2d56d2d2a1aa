"""Reads the event store's notification log in order and turns it into publishable contracts.

The log is the outbox: the relay (distributed mode) and the in-process projector (embedded
mode) both read it through this class, so both see the same contracts in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any
from uuid import UUID

from streams.contracts import EventEnvelope
from streams.headers import Cause
from streams.mapping import stored_topics_of
from streams.stored import contract_of_stored


@dataclass(frozen=True)
class OutboxMessage:
    position: int
    topic: str
    key: bytes
    event: EventEnvelope
    cause: Cause = field(default_factory=Cause)


@dataclass(frozen=True)
class OutboxBatch:
    """Messages after a position; `last_position` also covers unpublished notifications."""

    messages: list[OutboxMessage]
    last_position: int


class OutboxReader:
    def __init__(self, application: Any) -> None:
        """`application` is an eventsourcing Application (it owns the recorder and mapper)."""
        self._recorder = application.recorder
        self._mapper = application.mapper

    def read_after(self, position: int, limit: int) -> OutboxBatch:
        notifications = self._recorder.select_notifications(start=position + 1, limit=limit)
        messages = []
        for notification in notifications:
            mapped = contract_of_stored(
                notification.topic,
                notification.originator_id,
                notification.originator_version,
                notification.state,
                partial(self._mapper.to_domain_event, notification),
            )
            if mapped is None:
                continue
            messages.append(
                OutboxMessage(
                    position=notification.id,
                    topic=mapped.topic,
                    key=str(mapped.event.partition_key()).encode(),
                    event=mapped.event,
                    cause=mapped.cause,
                )
            )
        last = notifications[-1].id if notifications else position
        return OutboxBatch(messages=messages, last_position=last)

    def head(self) -> int:
        """The position of the newest notification (0 when the log is empty)."""
        return int(self._recorder.max_notification_id() or 0)

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
