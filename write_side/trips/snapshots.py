"""What it takes to snapshot a Trip: transcodings for the state's own types."""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Transcoding

from write_side.trips.itinerary import Activity, ById, Destination, LocalTime

# A snapshot every this many events: loading reads at most one snapshot and this many events.
TRIP_SNAPSHOT_INTERVAL = 100


class ByIdAsPairs(Transcoding):
    """JSON objects need string keys: UUID-keyed maps travel as [key, value] pairs."""

    type = ById
    name = "by_id"

    def encode(self, obj: ById[Any]) -> list[list[Any]]:
        return [[str(key), value] for key, value in obj.items()]

    def decode(self, data: list[list[Any]]) -> ById[Any]:
        return ById((UUID(key), value) for key, value in data)


class DataclassAsDict(Transcoding):
    def __init__(self, cls: type[Any]) -> None:
        self.type = cls
        self.name = cls.__name__.lower()

    def encode(self, obj: Any) -> dict[str, Any]:
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)


def trip_state_transcodings() -> list[Transcoding]:
    return [ByIdAsPairs(), *(DataclassAsDict(cls) for cls in (Destination, Activity, LocalTime))]
