"""Reads of the event store's log shared by the embedded projector's lanes: one read for
every lane at the same position, recent batches kept for a lane a little behind, and empty
reads reused only as long as no append can have been missed."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from streams.outbox import OutboxBatch
from streams.position import LogPosition

KEPT_BATCHES = 32  # recent batches kept for a lane a little behind the others
FRESH_EMPTY_SECONDS = 0.01  # how long an empty read answers lanes that look just after


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


class SharedReads:
    """Batches of the log after a position, read once for every lane that asks for the same
    position at the same time (lanes that keep pace), and kept a while for a lane that asks
    a little later. A lane further behind reads its own.

    A kept batch stays right: whatever becomes readable later belongs to a transaction newer
    than every one the batch holds, so it sorts after the batch. An empty read is kept only
    for `fresh` seconds, and given only to a lane whose ticket (taken before its look) is not
    newer than the read: an append after the read sends a notice that wakes it. An empty read
    that found events waiting behind an open transaction is never kept (that transaction's
    end sends no notice)."""

    def __init__(
        self,
        source: LogSource,
        limit: int,
        keep: int = KEPT_BATCHES,
        new_events: NewEvents | None = None,
        fresh: float = FRESH_EMPTY_SECONDS,
    ) -> None:
        self._source = source
        self._limit = limit
        self._keep = keep
        self._new_events = new_events
        self._fresh = fresh
        self._kept: OrderedDict[LogPosition, OutboxBatch] = OrderedDict()
        self._empty: tuple[LogPosition, _Look, OutboxBatch] | None = None  # the newest
        self._reading: dict[LogPosition, tuple[_Look, asyncio.Future[OutboxBatch]]] = {}

    async def after(
        self, position: LogPosition, ticket: int | None = None, *, kept: bool = True
    ) -> OutboxBatch:
        """The batch after `position`; `ticket`: the caller's, of the event store's notices,
        taken before it decided to look (None: any read will do, as when catching up);
        `kept`: whether a batch kept from an earlier read will do (else a whole new one, up
        to the limit, is read: what a lane that lets changes gather wants in one batch)."""
        found = self._kept.get(position) if kept else None
        if found is not None:
            self._kept.move_to_end(position)
            return found
        if self._empty is not None and self._empty[0] == position:
            _, look, empty = self._empty
            if look.serves(ticket) and time.monotonic() - look.at < self._fresh:
                return empty
        if position in self._reading and self._reading[position][0].serves(ticket):
            reading = self._reading[position][1]
        else:
            look = _Look(self._new_events.ticket() if self._new_events else None, time.monotonic())
            reading = asyncio.ensure_future(
                asyncio.to_thread(self._source.read_after, position, self._limit)
            )
            self._reading[position] = (look, reading)
            reading.add_done_callback(partial(self._read, position, look))
        # Shielded: one lane stopping does not cancel the read the others wait for.
        return await asyncio.shield(reading)

    def _read(
        self, position: LogPosition, look: _Look, reading: asyncio.Future[OutboxBatch]
    ) -> None:
        if self._reading.get(position, (None,))[0] is look:
            del self._reading[position]
        if reading.cancelled() or reading.exception() is not None:
            return  # each lane awaiting it gets the error and retries
        batch = reading.result()
        if batch.read:
            self._kept[position] = batch
            while len(self._kept) > self._keep:
                self._kept.popitem(last=False)
        elif not batch.waiting and look.ticket is not None:
            self._empty = (position, look, batch)


@dataclass(frozen=True, eq=False)
class _Look:
    """A read of the log: when it began."""

    ticket: int | None  # of the event store's notices
    at: float  # time.monotonic()

    def serves(self, ticket: int | None) -> bool:
        """Whether this read may answer a lane that took `ticket` before it looked: the read
        began after every notice the lane had seen (so whatever it missed sends the lane a
        notice). A lane without a ticket (catching up, or no notices) takes any read."""
        if ticket is None:
            return True
        return self.ticket is not None and self.ticket >= ticket
