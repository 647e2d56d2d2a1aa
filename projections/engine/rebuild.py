"""Rebuilding a projection from the event store, blue/green.

1. Note the log's head, and fill shadow tables with every event up to it, read in aggregate
   order (each aggregate's events together, so each state is written once per batch).
2. Catch up, in log order, with what arrived meanwhile; index the shadow; catch up again.
3. Swap: in one transaction the live tables are locked, the last events are applied to the
   shadow and the shadow takes the live tables' place. Until then the old tables serve.

The same Applier as live processing folds the same contracts, so a rebuild equals live
processing. Poison parks as it does live (at once: a rebuild has nobody to wait for), and the
events operators skipped (`itinera dlq skip`) stay skipped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar
from uuid import UUID

from projections.engine.applier import Applier, Outcome, RetryPolicy
from projections.engine.ports import (
    Delivery,
    EventSource,
    ProjectionStore,
    TransientStoreError,
)
from projections.engine.projection import Projection
from streams.contracts import EventEnvelope
from streams.outbox import OutboxBatch
from streams.position import LogPosition

log = logging.getLogger(__name__)

S = TypeVar("S")

SCAN_BATCH = 5_000  # events per batch when scanning
TAIL_BATCH = 2_000  # notifications per batch when catching up in log order
AT_ONCE = RetryPolicy(attempts=1)


class EventLog(EventSource, Protocol):
    def head(self) -> LogPosition:
        """The newest readable position: nothing can commit at or below it any more."""
        ...

    def count(self, topics: tuple[str, ...], up_to: LogPosition) -> int: ...

    def by_aggregate(
        self,
        topics: tuple[str, ...],
        up_to: LogPosition,
        after: tuple[UUID, int] | None,
        limit: int,
        before: UUID | None = None,
    ) -> list[EventEnvelope]: ...

    def read_after(self, position: LogPosition, limit: int) -> OutboxBatch: ...


class RebuildTarget(Protocol[S]):
    """Where a projection's tables are created, filled and swapped (its schema)."""

    def rebuild_lock(self) -> AbstractAsyncContextManager[None]: ...

    async def skipped(self) -> dict[UUID, frozenset[int]]: ...

    async def prepare_shadow(self) -> None: ...

    def shadow_store(self) -> ProjectionStore[S]: ...

    async def index_shadow(self) -> None: ...

    async def drop_shadow(self) -> None: ...

    def swap(
        self, version: int, events: int, seconds: float
    ) -> AbstractAsyncContextManager[ProjectionStore[S]]: ...


SWAP_ATTEMPTS = 5


async def _swap(
    projection: Projection[S],
    target: RebuildTarget[S],
    events: EventLog,
    position: LogPosition,
    shown: Progress,
    outcome: Outcome,
    seconds: float,
    skipped: dict[UUID, frozenset[int]],
) -> None:
    """Apply the last events and swap, in one transaction. Taking the live tables can
    deadlock with a reader holding one of them while waiting for another: the store then
    says "not now" (TransientStoreError), the transaction is undone, and the swap is tried
    again."""
    for attempt in range(1, SWAP_ATTEMPTS + 1):
        before = replace(outcome, parked_aggregates=list(outcome.parked_aggregates))
        try:
            async with target.swap(projection.version, outcome.applied, seconds) as final:
                last = Applier(projection, final, events, AT_ONCE, skipped=skipped)
                await _catch_up(projection, last, events, position, shown, outcome)
            return
        except TransientStoreError as error:
            if attempt == SWAP_ATTEMPTS:
                raise
            log.warning("%s: swap contended (%s); trying again", projection.name, error)
            outcome.applied, outcome.parked = before.applied, before.parked
            outcome.parked_aggregates[:] = before.parked_aggregates
            await asyncio.sleep(0.1 * attempt)


class Progress(Protocol):
    def start(self, projection: str, total: int) -> None: ...

    def advance(self, done: int) -> None: ...

    def finish(self) -> None: ...


# Scans the events up to a head into the shadow tables, in several processes at once.
ParallelScan = Callable[[LogPosition, Progress], Awaitable[Outcome]]


@dataclass(frozen=True)
class KeyRange:
    """Aggregates whose ids are at or above `start` and below `stop` (None: unbounded)."""

    start: UUID | None = None
    stop: UUID | None = None


EVERY_KEY = KeyRange()


def key_ranges(count: int) -> list[KeyRange]:
    """`count` ranges of equal width covering every UUID (aggregate ids are random)."""
    bounds = [UUID(int=(2**128 * n) // count) for n in range(1, count)]
    starts: list[UUID | None] = [None, *bounds]
    stops: list[UUID | None] = [*bounds, None]
    return [KeyRange(start, stop) for start, stop in zip(starts, stops, strict=True)]


class NoProgress:
    def start(self, projection: str, total: int) -> None:
        pass

    def advance(self, done: int) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass(frozen=True)
class RebuildReport:
    projection: str
    version: int
    events: int
    parked: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


async def rebuild(
    projection: Projection[S],
    target: RebuildTarget[S],
    events: EventLog,
    *,
    progress: Progress | None = None,
    scan_batch: int = SCAN_BATCH,
    parallel: ParallelScan | None = None,
) -> RebuildReport:
    """Rebuild `projection` into new tables and swap them in; refused (RebuildRunningError)
    while another rebuild of it runs. With `parallel`, the scan runs there (each process
    scanning a range of aggregates into the same shadow tables)."""
    shown = progress or NoProgress()
    async with target.rebuild_lock():
        started = time.monotonic()
        skipped = await target.skipped()
        await target.prepare_shadow()
        try:
            shadow = Applier(projection, target.shadow_store(), events, AT_ONCE, skipped=skipped)
            outcome = Outcome()
            head = await asyncio.to_thread(events.head)
            shown.start(
                projection.name, await asyncio.to_thread(events.count, projection.topics, head)
            )
            if parallel is None:
                await scan(projection, shadow, events, head, scan_batch, shown, outcome)
            else:
                _add(outcome, await parallel(head, shown))
            log.debug("%s: scanned to %s at %.1f s", projection.name, head, _since(started))
            position = await _catch_up(projection, shadow, events, head, shown, outcome)
            await target.index_shadow()
            position = await _catch_up(projection, shadow, events, position, shown, outcome)
            log.debug("%s: caught up to %s at %.1f s", projection.name, position, _since(started))
            seconds = time.monotonic() - started
            await _swap(projection, target, events, position, shown, outcome, seconds, skipped)
            log.debug("%s: swapped at %.1f s", projection.name, _since(started))
        except BaseException:
            await asyncio.shield(target.drop_shadow())
            raise
        finally:
            shown.finish()
    report = RebuildReport(
        projection.name, projection.version, outcome.applied, outcome.parked, seconds
    )
    log.info(
        "%s rebuilt: version %d, %d events in %.1f s (%.0f/s), %d parked",
        report.projection,
        report.version,
        report.events,
        report.seconds,
        report.rate,
        report.parked,
    )
    return report


async def scan(
    projection: Projection[S],
    shadow: Applier[S],
    events: EventLog,
    head: LogPosition,
    batch: int,
    progress: Progress,
    outcome: Outcome,
    keys: KeyRange = EVERY_KEY,
) -> None:
    """Every event up to `head` of the aggregates in `keys`, in aggregate order; the next
    batch is read while one is applied."""

    def read(after: tuple[UUID, int] | None) -> list[EventEnvelope]:
        return events.by_aggregate(projection.topics, head, after, batch, keys.stop)

    first = None if keys.start is None else (keys.start, 0)
    next_read = asyncio.create_task(asyncio.to_thread(read, first))
    try:
        while found := await next_read:
            last = found[-1]
            next_read = asyncio.create_task(
                asyncio.to_thread(read, (last.aggregate_id, last.aggregate_version))
            )
            _add(outcome, await shadow.apply(_deliveries(found)))
            progress.advance(len(found))
    finally:
        next_read.cancel()


async def _catch_up(
    projection: Projection[S],
    applier: Applier[S],
    events: EventLog,
    position: LogPosition,
    progress: Progress,
    outcome: Outcome,
) -> LogPosition:
    """Apply the projection's events after `position`, in log order, up to the log's head as
    it is now (what arrives meanwhile is the next catch-up's, or the live drivers' after the
    swap); returns the position reached."""
    head = await asyncio.to_thread(events.head)
    while position < head:
        batch = await asyncio.to_thread(events.read_after, position, TAIL_BATCH)
        if batch.last_position == position:
            break
        mine = [m.event for m in batch.messages if m.topic in projection.topics]
        _add(outcome, await applier.apply(_deliveries(mine)))
        progress.advance(len(mine))
        position = batch.last_position
    return position


def _since(started: float) -> float:
    return time.monotonic() - started


def _deliveries(events: Sequence[EventEnvelope]) -> list[Delivery]:
    return [Delivery(e.aggregate_id, e.aggregate_version, e) for e in events]


def _add(total: Outcome, batch: Outcome) -> None:
    total.applied += batch.applied
    total.parked += batch.parked
    total.parked_aggregates.extend(batch.parked_aggregates)
