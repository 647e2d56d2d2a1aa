"""Embedded mode's driver: reads the event store's log in-process and applies it to every
projection through the same engine as the Faust worker, with no Kafka in between.

Each projection resumes from its own position (its lane `log`: a (transaction id,
notification id) pair, see streams/position.py), stored in the same transaction as the batch
it applied, so a crash at any point re-applies nothing and loses nothing. A failing event
parks its aggregate; it never stops the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any, Protocol

from projections.engine.applier import Applier
from projections.engine.ports import Delivery, LaneMark
from streams.outbox import OutboxBatch
from streams.pacing import Pacer
from streams.position import START, LogPosition

log = logging.getLogger(__name__)

LANE = "log"
RETRY_SECONDS = 1.0
HEAD_REPORT_SECONDS = 1.0
CATCH_UP_PATIENCE_SECONDS = 10.0
CATCH_UP_POLL_SECONDS = 0.01


class NewEvents(Protocol):
    """Notices of appends to the event store: take a ticket before reading the log, then
    wait for a notice after it (or the timeout)."""

    def ticket(self) -> int: ...

    async def wait(self, ticket: int, timeout: float) -> None: ...


class LogSource(Protocol):
    def read_after(self, position: LogPosition, limit: int) -> OutboxBatch: ...

    def head(self) -> LogPosition: ...

    def recorded_head(self) -> LogPosition:
        """The newest committed position, readable or not yet."""
        ...

    def backlog(self, position: LogPosition) -> int:
        """How many events are recorded after `position` (for lag)."""
        ...


class EmbeddedProjector:
    def __init__(
        self,
        source: LogSource,
        appliers: Sequence[Applier[Any]],
        *,
        batch_size: int = 500,
        pacer: Pacer | None = None,
        new_events: NewEvents | None = None,
    ) -> None:
        self._source = source
        self._appliers = list(appliers)
        self._batch_size = batch_size
        self._pacer = pacer or Pacer()
        self._new_events = new_events
        self._positions: dict[str, LogPosition] = {}
        self._reported = 0.0
        self._stopping = asyncio.Event()
        self._waiting = False  # the last read found events committed behind an open one

    async def catch_up(self, patience: float = CATCH_UP_PATIENCE_SECONDS) -> int:
        """Apply everything committed so far (not what writers keep adding meanwhile: the
        running loop takes that on); returns how many notifications were read. Events of a
        transaction that committed after an older one still open become readable when that
        one ends: waited for, up to `patience` seconds (then the running loop goes on)."""
        head = await asyncio.to_thread(self._source.recorded_head)
        total = 0
        waited_since: float | None = None
        while True:
            read = await self.project_once()
            total += read
            if min(self._positions.values(), default=head) >= head:
                return total
            if read:
                waited_since = None
                continue
            waited_since = waited_since or time.monotonic()
            if time.monotonic() - waited_since > patience:
                log.warning("catch-up stops short of %s: an older transaction is still open", head)
                return total
            await asyncio.sleep(CATCH_UP_POLL_SECONDS)

    async def project_once(self) -> int:
        """Read the next batch and apply it to every projection behind it; returns how many
        notifications it covered."""
        if not self._positions:
            for applier in self._appliers:
                offsets = await applier.store.offsets()
                found = offsets.get(LANE)
                at = START if found is None else LogPosition(found.transaction, found.offset)
                self._positions[applier.projection.name] = max(at, START)
        start = min(self._positions.values())
        batch = await asyncio.to_thread(self._source.read_after, start, self._batch_size)
        # Side by side: a projection whose batch waits on I/O (the notifier delivering to
        # inboxes) holds no other back. One failing cancels the others, to retry all.
        async with asyncio.TaskGroup() as projecting:
            for applier in self._appliers:
                projecting.create_task(self._apply(applier, batch))
        await self._report_head()
        self._waiting = batch.waiting
        return batch.read

    async def _apply(self, applier: Applier[Any], batch: OutboxBatch) -> None:
        name = applier.projection.name
        if batch.last_position <= self._positions[name]:
            return
        mine = [
            m
            for m in batch.messages
            if m.position > self._positions[name] and m.topic in applier.projection.topics
        ]
        last = batch.last_position
        event_at = mine[-1].event.occurred_at if mine else None
        mark = LaneMark(LANE, last.notification, event_at, transaction=last.transaction)
        await applier.apply(
            [
                Delivery(
                    m.event.aggregate_id,
                    m.event.aggregate_version,
                    m.event,
                    traceparent=m.cause.traceparent,
                )
                for m in mine
            ],
            [mark],
        )
        self._positions[name] = batch.last_position

    async def _report_head(self) -> None:
        """Tell each projection how far the log goes (for its lag), once a second: its
        notification id plus the events recorded after its position, so that its lag is
        the count of events it has still to read (positions are pairs: a difference of
        notification ids is not a count)."""
        now = time.monotonic()
        if now - self._reported < HEAD_REPORT_SECONDS:
            return
        self._reported = now
        backlogs: dict[LogPosition, int] = {}
        for applier in self._appliers:
            at = self._positions[applier.projection.name]
            if at not in backlogs:
                backlogs[at] = await asyncio.to_thread(self._source.backlog, at)
            await applier.store.report_heads({LANE: at.notification + backlogs[at]})

    async def run(self) -> None:
        log.info("embedded projector running: %s", ", ".join(self._positions) or "starting")
        while not self._stopping.is_set():
            ticket = self._new_events.ticket() if self._new_events else 0
            try:
                read = await self.project_once()
            except Exception:
                # Only a bug of the engine itself gets here (the store being down is retried
                # inside, and poison is parked): say so loudly and retry the same position.
                log.exception("embedded projector failed; retrying in %.0f s", RETRY_SECONDS)
                self._positions.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), RETRY_SECONDS)
                continue
            if read:
                self._pacer.found()
            elif self._waiting:
                # Committed events wait behind an older transaction: its end sends no
                # notice, so look again soon (backing off from a millisecond).
                await asyncio.sleep(self._pacer.idle())
            elif self._new_events is not None:
                await self._new_events.wait(ticket, self._pacer.slowest)
            else:
                await asyncio.sleep(self._pacer.idle())

    async def stop(self, running: asyncio.Task[None], grace: float = 10.0) -> None:
        """Let the batch in hand finish (it commits or rolls back whole), then stop; cancel
        only after `grace` seconds."""
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(running), grace)
        except TimeoutError:
            log.warning("embedded projector did not stop within %.0f s; cancelling", grace)
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
