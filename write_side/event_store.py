"""The event store: one eventsourcing application, hence one ordered notification log, that
every aggregate of Itinera is saved to and loaded from."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, project_aggregate
from eventsourcing.domain import Aggregate, MutableOrImmutableAggregate
from eventsourcing.persistence import (
    InterfaceError,
    JSONTranscoder,
    OperationalError,
    Transcoding,
)

from write_side.copying import copied
from write_side.errors import EventStoreUnavailableError
from write_side.notifications.inbox import INBOX_SNAPSHOT_INTERVAL, Inbox
from write_side.trips.snapshots import TRIP_SNAPSHOT_INTERVAL, trip_state_transcodings
from write_side.trips.trip import Trip

A = TypeVar("A", bound=Aggregate)

READ_COPIES = 1_000  # aggregates kept by `current`, the least recently read dropped first
WRITE_COPIES = 256  # aggregates kept by `find` and `save`, to start the next load from


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading: OrderedDict[UUID, Aggregate] = OrderedDict()
        self._reading_lock = threading.Lock()
        self._kept: OrderedDict[UUID, Aggregate] = OrderedDict()
        self._kept_lock = threading.Lock()
        self._on_saved: list[Callable[[Sequence[object]], None]] = []

    def observe_saves(self, observer: Callable[[Sequence[object]], None]) -> None:
        """Tell `observer` the domain events of every save once they are recorded (metrics)."""
        self._on_saved.append(observer)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        for transcoding in trip_state_transcodings():
            transcoder.register(transcoding)

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Save, or raise EventStoreUnavailableError when the store cannot record it now (its
        connection is lost, or its insert lock is held past the lock timeout)."""
        try:
            recordings = super().save(*objs, **kwargs)
        except (OperationalError, InterfaceError) as error:
            raise EventStoreUnavailableError(str(error).splitlines()[0]) from error
        for saved in objs:
            if isinstance(saved, Aggregate):
                # Kept as it is, not copied: whoever saved it only reads it from now on.
                self._keep(saved)
        if self._on_saved and recordings:
            new_events = [recording.domain_event for recording in recordings]
            for observer in self._on_saved:
                observer(new_events)
        return recordings

    def newest_version(self, aggregate_id: UUID) -> int | None:
        """The version of the aggregate's newest event (one index lookup); None if it has
        none."""
        try:
            newest = self.recorder.select_events(aggregate_id, desc=True, limit=1)
        except (OperationalError, InterfaceError) as error:
            raise EventStoreUnavailableError(str(error).splitlines()[0]) from error
        return int(newest[0].originator_version) if newest else None

    def exists(self, aggregate_id: UUID) -> bool:
        """Whether any event of this aggregate is stored (one index lookup)."""
        return self.newest_version(aggregate_id) is not None

    def current(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        """The aggregate as it is now, to read and never to change or save: a copy kept from
        an earlier call when the store's newest version of it is still the copy's (one
        indexed lookup instead of loading its events)."""
        version = self.newest_version(aggregate_id)
        if version is None:
            return None
        with self._reading_lock:
            kept = self._reading.get(aggregate_id)
            if kept is not None and kept.version == version:
                self._reading.move_to_end(aggregate_id)
                return kept if isinstance(kept, kind) else None
        found = self.find(aggregate_id, kind)
        if found is not None:
            with self._reading_lock:
                self._reading[aggregate_id] = found
                while len(self._reading) > READ_COPIES:
                    self._reading.popitem(last=False)
        return found

    def find(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        """The aggregate with this id if it exists and is a `kind`, else None: a copy of its
        own the caller may change and save. Started from the copy kept when it was last
        loaded or saved here, brought up to date with the events stored after it (one
        indexed read, usually empty), instead of a snapshot and up to a hundred events."""
        with self._kept_lock:
            kept = self._kept.get(aggregate_id)
            if kept is not None and kept.pending_events:
                # Changed after it was saved, against the rule: what it holds was never
                # stored, so it is forgotten and the aggregate read from the store.
                del self._kept[aggregate_id]
                kept = None
            start = None if kept is None else copied(kept)
        try:
            if start is None:
                aggregate: Aggregate = self.repository.get(aggregate_id)
            else:
                later = list(self.repository.event_store.get(aggregate_id, gt=start.version))
                if not later:
                    return start if isinstance(start, kind) else None
                brought = project_aggregate(start, later)
                if brought is None:
                    return None
                aggregate = brought
        except AggregateNotFoundError:
            return None
        except (OperationalError, InterfaceError) as error:
            raise EventStoreUnavailableError(str(error).splitlines()[0]) from error
        if not isinstance(aggregate, kind):
            return None
        self._keep(copied(aggregate))  # the caller gets `aggregate`, to change
        return aggregate

    def drop_kept_copies(self) -> None:
        """Forget every copy kept by `find`, `save` and `current`: the next load reads the
        store, as one in another process would (for measurements)."""
        with self._kept_lock:
            self._kept.clear()
        with self._reading_lock:
            self._reading.clear()

    def _keep(self, kept: Aggregate) -> None:
        """Keep `kept` to start the next load from; no one may change it from now on."""
        with self._kept_lock:
            older = self._kept.get(kept.id)
            if older is None or older.version <= kept.version:
                self._kept[kept.id] = kept
                self._kept.move_to_end(kept.id)
            while len(self._kept) > WRITE_COPIES:
                self._kept.popitem(last=False)
