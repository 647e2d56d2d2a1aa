"""Embedded mode's driver: reads the event store's log in-process and applies it to every
projection through the same engine as the Faust worker, with no Kafka in between.

Each projection is a lane of its own: it resumes from its own position (its lane `log`: a
(transaction id, notification id) pair, see streams/position.py), stored in the same
transaction as the batch it applied, so a crash at any point re-applies nothing and loses
nothing, and it goes at its own pace: a slow projection (embedding texts, delivering to
inboxes) holds no other back, as in distributed mode where each is a Faust agent of its own.
Lanes that keep pace share each read of the log (`projections/log_reads.py`). A failing
event parks its aggregate; it never stops a lane.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from projections.engine.applier import Applier
from projections.engine.ports import Delivery, LaneMark
from projections.log_reads import KEPT_BATCHES, LogSource, NewEvents, SharedReads
from streams.pacing import Pacer
from streams.position import START, LogPosition

log = logging.getLogger(__name__)

LANE = "log"
RETRY_SECONDS = 1.0
HEAD_REPORT_SECONDS = 1.0
CATCH_UP_PATIENCE_SECONDS = 10.0
CATCH_UP_POLL_SECONDS = 0.01


@dataclass
class _Lane:
    applier: Applier[Any]
    pacer: Pacer
    position: LogPosition | None = None  # None: to be read from its store
    waiting: bool = False  # its last read found events committed behind an open transaction

    @property
    def name(self) -> str:
        return self.applier.projection.name

    @property
    def gathering(self) -> bool:
        return self.applier.projection.gather_seconds > 0


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
        self._batch_size = batch_size
        self._reads = SharedReads(
            source, batch_size, keep=max(KEPT_BATCHES, 2 * len(appliers)), new_events=new_events
        )
        pacer = pacer or Pacer()
        self._lanes = [_Lane(applier, copy.copy(pacer)) for applier in appliers]
        self._new_events = new_events
        self._stopping = asyncio.Event()

    async def catch_up(self, patience: float = CATCH_UP_PATIENCE_SECONDS) -> int:
        """Apply everything committed so far to every projection, each on its own (not what
        writers keep adding meanwhile: the running lanes take that on); returns the most
        notifications one projection read. Events of a transaction that committed after an
        older one still open become readable when that one ends: waited for, up to
        `patience` seconds (then the running lanes go on)."""
        head = await asyncio.to_thread(self._source.recorded_head)
        async with asyncio.TaskGroup() as catching_up:
            counts = [
                catching_up.create_task(self._catch_up(lane, head, patience))
                for lane in self._lanes
            ]
        await self._report_heads()
        return max((c.result() for c in counts), default=0)

    async def _catch_up(self, lane: _Lane, head: LogPosition, patience: float) -> int:
        total = 0
        waited_since: float | None = None
        while True:
            read = await self._step(lane)
            total += read
            if lane.position is not None and lane.position >= head:
                return total
            if read:
                waited_since = None
                continue
            waited_since = waited_since or time.monotonic()
            if time.monotonic() - waited_since > patience:
                log.warning(
                    "%s: catch-up stops short of %s: an older transaction is still open",
                    lane.name,
                    head,
                )
                return total
            await asyncio.sleep(CATCH_UP_POLL_SECONDS)

    async def _step(self, lane: _Lane, ticket: int | None = None) -> int:
        """Apply the next batch after the lane's position; returns how many notifications
        it covered. `ticket`: of the event store's notices, taken before this look."""
        if lane.position is None:
            offsets = await lane.applier.store.offsets()
            found = offsets.get(LANE)
            at = START if found is None else LogPosition(found.transaction, found.offset)
            lane.position = max(at, START)
        batch = await self._reads.after(lane.position, ticket, kept=not lane.gathering)
        lane.waiting = batch.waiting
        if batch.last_position <= lane.position:
            return 0
        topics = lane.applier.projection.topics
        mine = [m for m in batch.messages if m.topic in topics]
        last = batch.last_position
        event_at = mine[-1].event.occurred_at if mine else None
        mark = LaneMark(LANE, last.notification, event_at, transaction=last.transaction)
        await lane.applier.apply(
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
        lane.position = last
        return batch.read

    async def _report_heads(self) -> None:
        """Tell each projection how far the log goes (for its lag): its notification id plus
        the events recorded after its position, so that its lag is the count of events it
        has still to read (positions are pairs: a difference of notification ids is not a
        count). Lanes at one position share one count."""
        backlogs: dict[LogPosition, int] = {}
        for lane in self._lanes:
            at = lane.position
            if at is None:
                continue
            if at not in backlogs:
                backlogs[at] = await asyncio.to_thread(self._source.backlog, at)
            await lane.applier.store.report_heads({LANE: at.notification + backlogs[at]})

    async def run(self) -> None:
        log.info("embedded projector running: %s", ", ".join(lane.name for lane in self._lanes))
        async with asyncio.TaskGroup() as running:
            running.create_task(self._report_heads_forever(), name="projection-heads")
            for lane in self._lanes:
                running.create_task(self._run_lane(lane), name=f"projecting-{lane.name}")

    async def _run_lane(self, lane: _Lane) -> None:
        while not self._stopping.is_set():
            ticket = self._new_events.ticket() if self._new_events else None
            try:
                read = await self._step(lane, ticket)
            except Exception:
                # Only a bug of the engine itself gets here (the store being down is retried
                # inside, and poison is parked): say so loudly and retry from the position
                # the store recorded. The other lanes go on.
                log.exception("%s: projecting failed; retrying in %.0f s", lane.name, RETRY_SECONDS)
                lane.position = None
                await self._pause(RETRY_SECONDS)
                continue
            if read:
                lane.pacer.found()
                if lane.gathering and read < self._batch_size:
                    # Caught up: its next changes gather meanwhile, read in one batch.
                    await self._pause(lane.applier.projection.gather_seconds)
            elif lane.waiting or ticket is None or self._new_events is None:
                # Committed events wait behind an older transaction (its end sends no
                # notice), or there are no notices: look again soon, backing off from a
                # millisecond. On a shared clock, so lanes at one position share the look.
                await asyncio.sleep(_on_the_tick(lane.pacer.idle()))
            else:
                # Until a notice, or the tick after the longest wait (a notice lost with
                # the listening connection costs no more): lanes time out together.
                await self._new_events.wait(ticket, _on_the_tick(lane.pacer.slowest))

    async def _report_heads_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._report_heads()
            except Exception:
                # Lag goes stale for a second; projecting goes on.
                log.exception("reporting the log's head to the projections failed")
            await self._pause(HEAD_REPORT_SECONDS)

    async def _pause(self, seconds: float) -> None:
        """Sleep, or less if stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def stop(self, running: asyncio.Task[None], grace: float = 10.0) -> None:
        """Let the batches in hand finish (each commits or rolls back whole), then stop;
        cancel only after `grace` seconds."""
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(running), grace)
        except TimeoutError:
            log.warning("embedded projector did not stop within %.0f s; cancelling", grace)
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running


def _on_the_tick(seconds: float) -> float:
    """How long to sleep to wake at the next multiple of `seconds` of the monotonic clock."""
    return seconds - time.monotonic() % seconds
