"""The event store: one eventsourcing application, hence one ordered notification log, that
every aggregate of Itinera is saved to and loaded from."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, MutableOrImmutableAggregate
from eventsourcing.persistence import (
    InterfaceError,
    JSONTranscoder,
    OperationalError,
    Transcoding,
)

from write_side.errors import EventStoreUnavailableError
from write_side.notifications.inbox import INBOX_SNAPSHOT_INTERVAL, Inbox
from write_side.trips.snapshots import TRIP_SNAPSHOT_INTERVAL, trip_state_transcodings
from write_side.trips.trip import Trip

A = TypeVar("A", bound=Aggregate)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class EventStore(Application[UUID]):
    """Persistence comes from the environment (eventsourcing's PERSISTENCE_MODULE and
    POSTGRES_* settings, built by infra.wiring); the default keeps events in memory."""

    name = "itinera"
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[UUID]], int]] = {
        Trip: TRIP_SNAPSHOT_INTERVAL,
        Inbox: INBOX_SNAPSHOT_INTERVAL,
    }

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        for transcoding in trip_state_transcodings():
            transcoder.register(transcoding)

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Save, or raise EventStoreUnavailableError when the store cannot record it now (its
        connection is lost, or its insert lock is held past the lock timeout)."""
        try:
            return super().save(*objs, **kwargs)
        except (OperationalError, InterfaceError) as error:
            raise EventStoreUnavailableError(str(error).splitlines()[0]) from error

    def exists(self, aggregate_id: UUID) -> bool:
        """Whether any event of this aggregate is stored (one index lookup)."""
        try:
            return bool(self.recorder.select_events(aggregate_id, limit=1))
        except (OperationalError, InterfaceError) as error:
            raise EventStoreUnavailableError(str(error).splitlines()[0]) from error

    def find(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        """The aggregate with this id if it exists and is a `kind`, else None."""
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        except (OperationalError, InterfaceError) as error:
            raise EventStoreUnavailableError(str(error).splitlines()[0]) from error
        return aggregate if isinstance(aggregate, kind) else None
