"""An itinerary draft: one aggregate per draft, whose id is the job's identity. It is asked
for, started (once per attempt, a crashed one is started again), completed or failed once,
and its items are accepted into the trip by members, item by item."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from write_side.traced_aggregate import TracedAggregate


class DraftStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


FINISHED = frozenset({DraftStatus.READY, DraftStatus.FAILED})


class ItineraryDraft(TracedAggregate):
    @event("Requested")
    def __init__(
        self,
        draft_id: UUID,
        trip_id: UUID,
        requested_by: UUID,
        preferences: dict[str, Any],
        trip_version: int,
    ) -> None:
        self.trip_id = trip_id
        self.requested_by = requested_by
        self.preferences = preferences
        self.trip_version = trip_version
        self.status = DraftStatus.QUEUED
        self.attempts = 0
        self.document: dict[str, Any] | None = None
        self.accepted: dict[str, UUID] = {}  # item id → who accepted it
        self.charged_on: date | None = None  # the day whose quota the job charged

    @staticmethod
    def create_id(draft_id: UUID) -> UUID:
        return draft_id

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def start(self, attempt: int, model: str, trip_version: int, charged_on: date) -> None:
        """A job began (again, after a crash: `attempt` counts them), charged to the
        requester's allowance of `charged_on`."""
        self._started(
            trip_id=self.trip_id,
            attempt=attempt,
            model=model,
            trip_version=trip_version,
            charged_on=charged_on,
        )

    def complete(self, document: dict[str, Any], usage: dict[str, Any]) -> None:
        """`document`: the draft (`write_side.planner.document`); `usage`: model, tokens in
        and out, cost, seconds, re-asks, repairs, whether it came from the cache."""
        self._completed(trip_id=self.trip_id, document=document, usage=usage)

    def fail(self, reason: str, message: str, refunded: bool) -> None:
        self._failed(trip_id=self.trip_id, reason=reason, message=message, refunded=refunded)

    def accept_items(
        self, acceptance_id: UUID, items: list[dict[str, Any]], accepted_by: UUID
    ) -> None:
        """`items`: each accepted item's id, kind, what it is in the trip (`entity_id`) and
        whether this acceptance created it (`outcome`: accepted, already_accepted)."""
        self._items_accepted(
            trip_id=self.trip_id, acceptance_id=acceptance_id, items=items, accepted_by=accepted_by
        )

    # Each event names its trip, so a reader of one event knows whose draft it is.

    @event("Started")
    def _started(
        self, trip_id: UUID, attempt: int, model: str, trip_version: int, charged_on: date
    ) -> None:
        self.status = DraftStatus.RUNNING
        self.attempts = attempt
        self.charged_on = charged_on

    @event("Completed")
    def _completed(self, trip_id: UUID, document: dict[str, Any], usage: dict[str, Any]) -> None:
        self.status = DraftStatus.READY
        self.document = document

    @event("Failed")
    def _failed(self, trip_id: UUID, reason: str, message: str, refunded: bool) -> None:
        self.status = DraftStatus.FAILED

    @event("ItemsAccepted")
    def _items_accepted(
        self,
        trip_id: UUID,
        acceptance_id: UUID,
        items: list[dict[str, Any]],
        accepted_by: UUID,
    ) -> None:
        for item in items:
            self.accepted[str(item["item_id"])] = accepted_by
