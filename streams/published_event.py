"""How one stored event class is published: its topic, its contract, and how its fields make
the contract's payload; and the event id every message of a stored event carries."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from uuid import NAMESPACE_URL, UUID

from eventsourcing.utils import get_topic

from streams.envelope import EventEnvelope
from write_side.context import event_id_of as event_id_of  # re-exported

Fields = Mapping[str, Any]
PayloadOf = Callable[[Fields], dict[str, Any]]


@dataclass(frozen=True)
class Published:
    """How one stored event class is published."""

    event_class: type[Any]
    topic: str
    contract: type[EventEnvelope]
    payload: PayloadOf

    @cached_property
    def stored_topic(self) -> str:
        """The class path eventsourcing stores with each event (`module:Class.Event`)."""
        return get_topic(self.event_class)

    @cached_property
    def class_version(self) -> int:
        return int(getattr(self.event_class, "class_version", 1))

    def contract_of(self, aggregate_id: UUID, version: int, fields: Fields) -> EventEnvelope:
        return self.contract.model_validate(
            {
                "event_id": _event_id_hex(aggregate_id, version),
                "aggregate_id": aggregate_id,
                "aggregate_version": version,
                "occurred_at": fields["timestamp"],
                "actor_id": fields["actor_id"],
                "correlation_id": fields["correlation_id"],
                "payload": self.payload(fields),
            }
        )


def event_of(aggregate: type[Any], name: str) -> type[Any]:
    """An aggregate's event class (eventsourcing's `@event` decorator defines them)."""
    event_class: type[Any] = getattr(aggregate, name)
    return event_class


def _event_id_hex(aggregate_id: UUID, version: int) -> str:
    """`event_id_of` as 32 hex digits, computed as uuid5 does but without building a UUID
    object (pydantic makes the contract's from the string, at a fraction of the cost)."""
    name = b"/events/%s/%d" % (str(aggregate_id).encode(), version)
    digest = bytearray(hashlib.sha1(NAMESPACE_URL.bytes + name).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return digest.hex()


def picked(*names: str) -> PayloadOf:
    return lambda fields: {name: fields[name] for name in names}
