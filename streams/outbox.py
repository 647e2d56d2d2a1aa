"""Reads the event store's notification log in order and turns it into publishable contracts.

The log is the outbox: the relay (distributed mode) and the in-process projector (embedded
mode) both read it through this class, so both see the same contracts in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.contracts import EventEnvelope
from streams.mapping import is_published, to_contract


@dataclass(frozen=True)
class OutboxMessage:
    position: int
    topic: str
    key: bytes
    event: EventEnvelope


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
            if not is_published(notification.topic):
                continue
            domain_event = self._mapper.to_domain_event(notification)
            mapped = to_contract(notification.topic, domain_event)
            assert mapped is not None
            topic, contract = mapped
            messages.append(
                OutboxMessage(
                    position=notification.id,
                    topic=topic,
                    key=str(contract.aggregate_id).encode(),
                    event=contract,
                )
            )
        last = notifications[-1].id if notifications else position
        return OutboxBatch(messages=messages, last_position=last)
