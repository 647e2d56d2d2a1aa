"""Applies a batch of deliveries to one projection: each aggregate's new events are folded
into its state and stored with the version they reach, in one transaction for the batch.

- An event already applied (a redelivery) is skipped; a gap is filled from the event store.
- A store that cannot be reached is retried, the batch whole, until it can: nothing moves.
- An event whose fold or storage fails is retried in place with backoff; after the last try
  it is parked with the events of its aggregate that follow it (a sequenced dead letter), and
  every other aggregate keeps flowing.

Callers acknowledge the batch only after `apply` returned: it returns once every delivery is
applied, skipped as already applied, or parked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from uuid import UUID

from projections.engine.ports import (
    Change,
    Current,
    DeadLetter,
    Delivery,
    EventSource,
    LaneMark,
    ProjectionStore,
    StoreBatch,
    StoreRefusedError,
    TransientStoreError,
)
from projections.engine.projection import Projection
from streams.contracts import EventEnvelope, serialize_event

log = logging.getLogger(__name__)

S = TypeVar("S")
T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]
# Told of each aggregate parked: projection, aggregate, version applied, letters, the error.
OnParked = Callable[[str, UUID, int, int, str], Awaitable[None]]
# Told of each batch applied (metrics, traces): projection, deliveries, outcome, and when the
# batch started (ns since the epoch).
OnApplied = Callable[[str, Sequence["Delivery"], "Outcome", int], None]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # tries of a failing event before it is parked
    backoff: float = 0.1  # seconds before the second try, doubling each time
    max_backoff: float = 5.0  # between tries of a store that cannot be reached

    def delay(self, attempt: int) -> float:
        return float(min(self.backoff * 2 ** max(attempt - 1, 0), self.max_backoff))


@dataclass(frozen=True)
class Failure:
    """An aggregate whose pending deliveries could not all be applied."""

    pending: list[Delivery]  # in version order; the first is the one that failed
    error: str


@dataclass
class Outcome:
    applied: int = 0
    parked: int = 0
    parked_aggregates: list[UUID] = field(default_factory=list)


class Applier(Generic[S]):
    def __init__(
        self,
        projection: Projection[S],
        store: ProjectionStore[S],
        source: EventSource | None = None,
        policy: RetryPolicy = RetryPolicy(),
        *,
        skipped: Mapping[UUID, frozenset[int]] | None = None,
        sleep: Sleep = asyncio.sleep,
        on_parked: OnParked | None = None,
        on_applied: OnApplied | None = None,
    ) -> None:
        self.projection = projection
        self.store = store
        self._source = source
        self._policy = policy
        self._skipped = skipped or {}
        self._sleep = sleep
        self._on_parked = on_parked
        self._on_applied = on_applied

    async def apply(
        self, deliveries: Sequence[Delivery], marks: Sequence[LaneMark] = ()
    ) -> Outcome:
        started = time.time_ns()
        groups = _by_aggregate(deliveries)
        outcome = Outcome()
        try:
            failures = await self._until_reachable(lambda: self._apply(groups, marks, outcome))
        except StoreRefusedError as error:
            # The store refused the batch because of some aggregate's data: find which.
            log.warning("%s: batch refused (%s); applying aggregate by aggregate", self, error)
            failures = {}
            for aggregate_id, group in groups.items():
                failure = await self._attempt(aggregate_id, group, outcome)
                if failure is not None:
                    failures[aggregate_id] = failure
            await self._until_reachable(lambda: self._mark(marks))
        for aggregate_id, failure in failures.items():
            await self._retry_then_park(aggregate_id, failure, outcome)
        if self._on_applied is not None:
            self._on_applied(self.projection.name, deliveries, outcome, started)
        return outcome

    def __str__(self) -> str:
        return f"projection {self.projection.name}"

    async def _apply(
        self, groups: dict[UUID, list[Delivery]], marks: Sequence[LaneMark], outcome: Outcome
    ) -> dict[UUID, Failure]:
        failures: dict[UUID, Failure] = {}
        applied = parked = 0
        async with self.store.batch() as batch:
            current = await batch.load(list(groups))
            changes: dict[UUID, Change[S]] = {}
            for aggregate_id, group in groups.items():
                now = current.get(aggregate_id) or Current()
                pending = _pending(group, now.version)
                if not pending:
                    continue
                if now.parked:
                    await batch.park(aggregate_id, now.version, _letters(pending, None, 0))
                    parked += len(pending)
                    continue
                pending = await self._fill_gap(aggregate_id, now.version, pending)
                change, failure = self._fold(now, pending)
                if change is not None:
                    changes[aggregate_id] = change
                    applied += change.version - now.version
                if failure is not None:
                    failures[aggregate_id] = failure
            await batch.save(changes)
            if marks:
                await batch.mark(marks)
        outcome.applied += applied  # counted once the batch committed
        outcome.parked += parked
        return failures

    def _fold(
        self, now: Current[S], pending: list[Delivery]
    ) -> tuple[Change[S] | None, Failure | None]:
        """The change the pending deliveries make, up to the first that cannot be applied."""
        readable: list[EventEnvelope] = []
        for delivery in pending:
            if delivery.event is None:
                break
            readable.append(delivery.event)
        events = [e for e in readable if e.aggregate_version not in self._skipped_of(e)]
        failure: Failure | None = None
        try:
            state = self.projection.fold(events, now.state)
            done = len(readable)
        except Exception:
            # Find the event that fails, one at a time (and the state just before it).
            state, index, cause = self.projection.fold_until_failure(events, now.state)
            done = readable.index(events[index]) if cause is not None else len(readable)
            if cause is not None:
                failure = Failure(pending[done:], _describe(cause))
        if failure is None and done < len(pending):
            failure = Failure(pending[done:], pending[done].unreadable or "unreadable")
        if done == 0:
            return None, failure
        version = pending[done - 1].version
        assert version is not None
        return Change(version=version, state=state, before=now.state), failure

    def _skipped_of(self, event: EventEnvelope) -> frozenset[int]:
        return self._skipped.get(event.aggregate_id, frozenset())

    async def _fill_gap(
        self, aggregate_id: UUID, applied: int, pending: list[Delivery]
    ) -> list[Delivery]:
        """Pending deliveries preceded by the events between them and `applied`, read from the
        event store (a gap means a message was lost on the way; the store has it)."""
        first = pending[0].version
        if first is None or first == applied + 1 or self._source is None:
            return pending
        stored = await asyncio.to_thread(self._source.events_of, aggregate_id, applied)
        missing = [e for e in stored if e.aggregate_version < first]
        log.warning(
            "%s: %s v%d arrived after v%d; read %d missing events from the event store",
            self,
            aggregate_id,
            first,
            applied,
            len(missing),
        )
        return [Delivery(aggregate_id, e.aggregate_version, e) for e in missing] + pending

    async def _attempt(
        self, aggregate_id: UUID, group: list[Delivery], outcome: Outcome
    ) -> Failure | None:
        """Apply one aggregate's deliveries in a transaction of their own."""
        try:
            failures = await self._until_reachable(
                lambda: self._apply({aggregate_id: group}, (), outcome)
            )
        except StoreRefusedError as error:
            pending = await self._until_reachable(lambda: self._still_pending(aggregate_id, group))
            return Failure(pending, _describe(error)) if pending else None
        return failures.get(aggregate_id)

    async def _still_pending(self, aggregate_id: UUID, group: list[Delivery]) -> list[Delivery]:
        async with self.store.batch() as batch:
            now = (await batch.load([aggregate_id])).get(aggregate_id) or Current()
        return _pending(group, now.version)

    async def _retry_then_park(
        self, aggregate_id: UUID, failure: Failure, outcome: Outcome
    ) -> None:
        for attempt in range(2, self._policy.attempts + 1):
            log.warning(
                "%s: %s v%s failed (try %d of %d): %s",
                self,
                aggregate_id,
                failure.pending[0].version,
                attempt - 1,
                self._policy.attempts,
                failure.error,
            )
            await self._sleep(self._policy.delay(attempt - 1))
            retried = await self._attempt(aggregate_id, failure.pending, outcome)
            if retried is None:
                return
            failure = retried
        letters = _letters(failure.pending, failure.error, self._policy.attempts)
        applied = await self._until_reachable(lambda: self._park(aggregate_id, letters))
        outcome.parked += len(letters)
        outcome.parked_aggregates.append(aggregate_id)
        log.error(
            "%s: parked %s at v%s after %d tries (%d events wait behind it): %s",
            self,
            aggregate_id,
            failure.pending[0].version,
            self._policy.attempts,
            len(letters) - 1,
            failure.error,
        )
        if self._on_parked is not None:
            await self._on_parked(
                self.projection.name, aggregate_id, applied, len(letters), failure.error
            )

    async def _park(self, aggregate_id: UUID, letters: list[DeadLetter]) -> int:
        """Park the aggregate; returns the version it had applied."""
        async with self.store.batch() as batch:
            now = (await batch.load([aggregate_id])).get(aggregate_id) or Current()
            await batch.park(aggregate_id, now.version, letters)
        return now.version

    async def _mark(self, marks: Sequence[LaneMark]) -> None:
        if marks:
            async with self.store.batch() as batch:
                await batch.mark(marks)

    async def _until_reachable(self, work: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            try:
                return await work()
            except TransientStoreError as error:
                attempt += 1
                delay = self._policy.delay(attempt)
                log.warning("%s: store unavailable (%s); retrying in %.2f s", self, error, delay)
                await self._sleep(delay)

    async def replay(
        self, aggregate_id: UUID, batch: StoreBatch[S], *, from_scratch: bool = False
    ) -> Failure | None:
        """Inside `batch`, apply the aggregate's events read from the event store: those after
        the version applied, or all of them `from_scratch` (its state is rebuilt). It flows
        again unless one still fails; then it stays parked at the event before that one."""
        assert self._source is not None, "replaying needs the event store"
        if from_scratch:
            await batch.forget(aggregate_id)
        now = (await batch.load([aggregate_id])).get(aggregate_id) or Current()
        stored = await asyncio.to_thread(self._source.events_of, aggregate_id, now.version)
        pending = [Delivery(aggregate_id, e.aggregate_version, e) for e in stored]
        change, failure = self._fold(now, pending)
        if change is not None:
            await batch.save({aggregate_id: change})
        if failure is None:
            await batch.unpark(aggregate_id)
        else:
            letters = _letters(failure.pending, failure.error, 1)
            await batch.park(aggregate_id, change.version if change else now.version, letters)
        return failure


def _by_aggregate(deliveries: Sequence[Delivery]) -> dict[UUID, list[Delivery]]:
    groups: dict[UUID, list[Delivery]] = {}
    for delivery in deliveries:
        groups.setdefault(delivery.aggregate_id, []).append(delivery)
    return groups


def _pending(group: list[Delivery], applied: int) -> list[Delivery]:
    """The deliveries not applied yet, once each, in version order (unreadable ones last)."""
    by_version: dict[int, Delivery] = {}
    unreadable: list[Delivery] = []
    for delivery in group:
        if delivery.version is None:
            unreadable.append(delivery)
        elif delivery.version > applied:
            known = by_version.get(delivery.version)
            if known is None or known.event is None:
                by_version[delivery.version] = delivery
    return [by_version[v] for v in sorted(by_version)] + unreadable


def _letters(pending: list[Delivery], error: str | None, attempts: int) -> list[DeadLetter]:
    """Dead letters for the pending deliveries; with `error`, the first is the one that
    failed, else all of them wait behind an earlier failure."""
    return [
        DeadLetter(
            aggregate_id=d.aggregate_id,
            aggregate_version=d.version,
            event_type=d.event.event_type if d.event is not None else "unreadable",
            payload=d.payload if d.payload is not None else _serialized(d.event),
            error=error if (error is not None and n == 0) else "",
            attempts=attempts if n == 0 else 0,
            failed=error is not None and n == 0,
        )
        for n, d in enumerate(pending)
    ]


def _serialized(event: EventEnvelope | None) -> bytes:
    return b"" if event is None else serialize_event(event)


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return text.replace("\x00", "\\x00")[:2000]
