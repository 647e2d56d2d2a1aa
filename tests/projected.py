"""Read models fed through the projection engine, for tests: apply contract events, then
read them back through the read side's ports (memory or PostgreSQL behind both)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from api.reading import PlannerAuthority
from projections.engine.applier import Applier, Outcome, RetryPolicy
from projections.engine.ports import Delivery, EventSource, ProjectionStore
from projections.trip_views import TRIP_VIEWS
from projections.user_directory import USER_DIRECTORY
from read_side.documents import TripDocument, UserDocument
from read_side.queries import Reading
from read_side.store import TripReadStore
from read_side.users import UserDirectory
from streams.contracts import EventEnvelope
from tests.fakes import InMemoryProjectionStore, InMemoryTripReadStore, InMemoryUserDirectory
from write_side.trips.planner import TripPlanner

NO_WAIT = RetryPolicy(attempts=1)


class TrustTheViews:
    """An authority for tests without an event store: the views are the truth (a trip is
    at its view's version), and whoever asks may read."""

    def __init__(self, trips: TripReadStore) -> None:
        self._trips = trips

    async def readable_by(self, trip_id: UUID, user_id: UUID) -> bool:
        return True

    async def version(self, trip_id: UUID) -> int | None:
        stored = await self._trips.get_trip(trip_id)
        return None if stored is None else stored.view.version


async def _no_sleep(seconds: float) -> None:
    return None


@dataclass
class Projected:
    trips: TripReadStore
    users: UserDirectory
    trip_store: ProjectionStore[TripDocument]
    user_store: ProjectionStore[UserDocument]
    source: EventSource | None = None

    def appliers(self) -> list[Applier[Any]]:
        return [
            Applier(TRIP_VIEWS, self.trip_store, self.source, NO_WAIT, sleep=_no_sleep),
            Applier(USER_DIRECTORY, self.user_store, self.source, NO_WAIT, sleep=_no_sleep),
        ]

    def reading(self, planner: TripPlanner | None = None) -> Reading:
        """Queries over these models; the event store's word comes from `planner`."""
        authority = PlannerAuthority(planner) if planner is not None else TrustTheViews(self.trips)
        return Reading(self.trips, authority)

    async def apply(self, *events: EventEnvelope) -> Outcome:
        """Apply the events (each to the projection of its topic), in order."""
        trips, users = self.appliers()
        total = Outcome()
        for event in events:
            applier = trips if event.event_type in _TRIP_TYPES else users
            done = await applier.apply(
                [Delivery(event.aggregate_id, event.aggregate_version, event)]
            )
            total.applied += done.applied
            total.parked += done.parked
        return total


_TRIP_TYPES = {t.model_fields["event_type"].default for t in TRIP_VIEWS.handlers}


def in_memory_projected(source: EventSource | None = None) -> Projected:
    trips: InMemoryProjectionStore[TripDocument] = InMemoryProjectionStore()
    users: InMemoryProjectionStore[UserDocument] = InMemoryProjectionStore()
    return Projected(
        trips=InMemoryTripReadStore(trips, users),
        users=InMemoryUserDirectory(users),
        trip_store=trips,
        user_store=users,
        source=source,
    )
