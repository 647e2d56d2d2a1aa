"""What the projection engine needs from the outside: a store for each projection's state,
tracking and dead letters (PostgreSQL in infra, memory in tests), and a way to read an
aggregate's events from the event store (the source of truth, for gaps and retries)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, NamedTuple, Protocol, TypeVar
from uuid import UUID

from streams.contracts import EventEnvelope

S = TypeVar("S")


class TransientStoreError(Exception):
    """The store could not do it now (unreachable, restarting, a lock or serialisation
    conflict): the same batch is retried until it can."""


class StoreRefusedError(Exception):
    """The store refused the data (a value it cannot hold, a broken constraint): the
    aggregate it belongs to is parked. Any other exception is a bug, and stops the driver."""


@dataclass(frozen=True)
class Delivery:
    """One event as a driver received it, or why it could not be read."""

    aggregate_id: UUID
    version: int | None  # None: unreadable, and no version could be found in it
    event: EventEnvelope | None
    payload: bytes | None = None  # the message as received, kept with a dead letter
    unreadable: str | None = None  # why `event` is None
    traceparent: str | None = None  # the W3C trace context it was published with, if any


@dataclass(frozen=True)
class Current(Generic[S]):
    """What a projection holds for one aggregate: the last version applied and its state."""

    version: int = 0
    parked: bool = False
    state: S | None = None


@dataclass(frozen=True)
class Change(Generic[S]):
    """A new state to store for an aggregate, with the one it replaces."""

    version: int
    state: S | None
    before: S | None


@dataclass(frozen=True)
class DeadLetter:
    aggregate_id: UUID
    aggregate_version: int | None
    event_type: str
    payload: bytes
    error: str
    attempts: int
    failed: bool  # False: waiting behind an earlier event of the same aggregate that failed


@dataclass(frozen=True)
class LaneMark:
    """How far a driver got on one lane (a topic partition, or the event store's log).
    On the log a position is a pair (streams/position.py): `transaction` is its transaction
    id and `offset` its notification id. On a topic partition `transaction` stays 0."""

    lane: str
    offset: int
    event_at: datetime | None
    transaction: int = 0


class LaneOffset(NamedTuple):
    """How far a lane got, ordered as its driver reads it: (0, offset) on a topic partition,
    (transaction id, notification id) on the event store's log."""

    transaction: int
    offset: int


class StoreBatch(Protocol[S]):
    """One transaction of a projection's store."""

    async def load(self, ids: Sequence[UUID]) -> dict[UUID, Current[S]]:
        """Each aggregate's tracking and state (absent: nothing applied yet), locked until
        the batch ends so no other writer of the same aggregates interleaves."""
        ...

    async def save(self, changes: Mapping[UUID, Change[S]]) -> None: ...

    async def park(self, aggregate_id: UUID, version: int, letters: Sequence[DeadLetter]) -> None:
        """Park the aggregate with `version` applied; record the letters (once each)."""
        ...

    async def unpark(self, aggregate_id: UUID) -> None:
        """Forget the aggregate's dead letters and let its events flow again."""
        ...

    async def forget(self, aggregate_id: UUID) -> None:
        """Delete the aggregate's state and tracking, to build it again from its events."""
        ...

    async def mark(self, marks: Sequence[LaneMark]) -> None: ...


class ProjectionStore(Protocol[S]):
    def batch(self) -> AbstractAsyncContextManager[StoreBatch[S]]: ...

    async def offsets(self) -> dict[str, LaneOffset]:
        """The last offset applied on each lane (offset -1: none yet, only a head reported)."""
        ...

    async def report_heads(self, heads: Mapping[str, int]) -> None:
        """The newest offset on each lane, for lag: how far behind the projection is (on the
        log: the applied notification id plus the events recorded after it)."""
        ...


class EventSource(Protocol):
    def events_of(self, aggregate_id: UUID, after_version: int) -> list[EventEnvelope]:
        """The aggregate's published events after `after_version`, in order (blocking I/O)."""
        ...
