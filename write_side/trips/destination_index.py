"""Which trip holds a destination: lets `POST /activities` name only the destination.

The index is an aggregate of its own, with an id derived from the destination id, saved in the
same atomic write as the trip event that adds the destination, so it can never be missing.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from write_side.traced_aggregate import TracedAggregate


class DestinationIndex(TracedAggregate):
    @event("Created")
    def __init__(self, destination_id: UUID, trip_id: UUID) -> None:
        self.destination_id = destination_id
        self.trip_id = trip_id

    @staticmethod
    def create_id(destination_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"/destination-index/{destination_id}")
