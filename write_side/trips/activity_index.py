"""Which trip holds an activity: lets `/activities/{id}` name only the activity. Saved in the
same atomic write as the `ActivityAdded` event (see destination_index)."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from write_side.traced_aggregate import TracedAggregate


class ActivityIndex(TracedAggregate):
    @event("Created")
    def __init__(self, activity_id: UUID, trip_id: UUID) -> None:
        self.activity_id = activity_id
        self.trip_id = trip_id

    @staticmethod
    def create_id(activity_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"/activity-index/{activity_id}")
