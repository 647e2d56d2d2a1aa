"""What the replica holds, as the client reads it: the server's rows, the device's own
mutations, and the server's answers that are not rows (conflicts, refusals)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ENTITY_TYPES = ("trip", "destination", "activity", "message")
PLURAL = {
    "trip": "trips",
    "destination": "destinations",
    "activity": "activities",
    "message": "messages",
}


@dataclass(frozen=True)
class Row:
    """An entity as the server last sent it."""

    entity_type: str
    id: str
    trip_id: str
    version: int
    data: dict[str, Any]


@dataclass(frozen=True)
class Mutation:
    """A change made on this device, in the order it was made. `status` is `pending`
    until a push is answered, then the answer's (`applied`, `conflict`, `error`) until a
    pull's checkpoint shows the server's rows hold its effects."""

    seq: int
    mutation_id: str
    entity_type: str
    entity_id: str
    action: str
    data: dict[str, Any]
    base_version: int | None
    client_timestamp: str | None
    status: str
    result: dict[str, Any] | None

    def change(self, entity_id: str | None = None) -> dict[str, Any]:
        """The change as `POST /sync/push/` takes it (`entity_id` when the server renamed
        the entity: a message)."""
        change: dict[str, Any] = {
            "entity_type": self.entity_type,
            "entity_id": entity_id or self.entity_id,
            "action": self.action,
            "data": self.data,
            "mutation_id": self.mutation_id,
        }
        if self.base_version is not None:
            change["base_version"] = self.base_version
        if self.client_timestamp is not None:
            change["client_timestamp"] = self.client_timestamp
        return change


@dataclass(frozen=True)
class Conflict:
    conflict_id: str
    mutation_id: str | None
    entity_type: str
    entity_id: str
    action: str
    fields: list[str]
    client_data: dict[str, Any]
    server_data: dict[str, Any]
    resolution: str | None  # the strategy it was settled with; None: open


@dataclass(frozen=True)
class Rejection:
    mutation_id: str
    entity_type: str
    entity_id: str
    action: str
    code: str
    message: str
    data: dict[str, Any]
