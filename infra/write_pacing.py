"""Write pacing: commands wait while the trip views trail this process's writes by more than a
limit, so that the views readers wait for stay within reach.

A read of a trip waits until the trip's view has every write that finished before it began.
Writes are cheaper than projecting them (each fans out to several projections), so without
pacing a load of writers outruns the projector and every read waits longer and longer for a
backlog that only grows. Here each write this process makes to a trip (its version) is
pending until the trip views' notice says the view reached it (`<projection>/<id>/<version>`,
see infra/postgres/projections/store.py). A command is admitted while fewer than `limit` are
pending; else it is held, and held commands go in their order, one for each write the
notices take off (letting them all go at the first notice would let the backlog grow by as
many as are held). A command held `patience` seconds goes ahead anyway, and a pending write is
forgotten after `patience` too, so nothing unheard holds commands back for long; and while
the trip views say nothing for `patience` seconds (their projector is down or stuck), nobody
is held at all: an outage of the projector does not slow writes down.

Without notices (the listening connection is down) nothing may be known: commands are
admitted at once and what was pending is forgotten.
"""

from __future__ import annotations

import asyncio
import bisect
import threading
import time
from collections import OrderedDict, deque
from uuid import UUID

TRIP_VIEWS = "trip_views"
HEARD_KEPT = 4096  # the latest version heard of the trips heard of last


class WritePacing:
    def __init__(self, limit: int, patience: float, projection: str = TRIP_VIEWS) -> None:
        self.limit = limit  # 0: no pacing
        self.patience = patience
        self.projection = projection
        self._pending: dict[UUID, list[int]] = {}  # versions written, not yet heard of
        self._written: deque[tuple[float, UUID, int]] = deque()  # in order, to forget
        # A notice may come before the route's thread says what it wrote.
        self._heard: OrderedDict[UUID, int] = OrderedDict()
        self._lock = threading.Lock()  # `wrote` is called from the routes' threads
        self._listening = False
        self._last_heard = float("-inf")  # when the projection last said anything
        self._waiting: deque[asyncio.Future[None]] = deque()  # admissions held, oldest first

    @property
    def pending(self) -> int:
        with self._lock:
            return sum(map(len, self._pending.values()))

    def wrote(self, aggregate: UUID, version: int) -> None:
        """This process appended `version` of `aggregate` (from any thread)."""
        if not self.limit or not self._listening:
            return
        with self._lock:
            if self._heard.get(aggregate, 0) >= version:
                return
            bisect.insort(self._pending.setdefault(aggregate, []), version)
            self._written.append((time.monotonic(), aggregate, version))

    def heard(self, projection: str, aggregate: UUID, version: int | None) -> None:
        """The projection committed `aggregate` at `version` (None: parked, forgotten or
        released: nothing of it is waited for any more). On the admitting loop."""
        if projection != self.projection:
            return
        self._last_heard = time.monotonic()
        with self._lock:
            if version is not None:
                self._heard[aggregate] = max(version, self._heard.pop(aggregate, 0))
                if len(self._heard) > HEARD_KEPT:
                    self._heard.popitem(last=False)
            versions = self._pending.get(aggregate)
            if versions:
                reached = (
                    len(versions) if version is None else bisect.bisect_right(versions, version)
                )
                del versions[:reached]
                if not versions:
                    del self._pending[aggregate]
        self._forget_before(time.monotonic() - self.patience)
        self._admit_waiting()

    def listening(self, listening: bool) -> None:
        """Notices come (True) or may have been missed (False). On the admitting loop."""
        self._listening = listening
        with self._lock:
            self._pending.clear()
            self._written.clear()
        self._admit_waiting()

    async def admit(self) -> None:
        """Return once this command's turn comes: fewer than `limit` writes pending, the
        ones held before it admitted first; or after `patience` seconds."""
        if not self.limit or not self._listening:
            return
        if self.pending < self.limit and not self._waiting:
            return
        now = time.monotonic()
        self._forget_before(now - self.patience)
        if now - self._last_heard > self.patience:
            return  # the projection said nothing for that long: a stalled one holds nobody
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        deadline = time.monotonic() + self.patience
        try:
            while not turn.done() and (left := deadline - time.monotonic()) > 0:
                try:
                    await asyncio.wait_for(asyncio.shield(turn), min(left, self.patience / 4))
                except TimeoutError:  # now and then, forget writes never heard of
                    self._forget_before(time.monotonic() - self.patience)
                    self._admit_waiting()
        finally:
            if not turn.done():
                self._waiting.remove(turn)
                turn.cancel()

    def _admit_waiting(self) -> None:
        """Let as many held commands go as there is room for below the limit (all of them
        without notices): each will write about one more."""
        room = len(self._waiting) if not self._listening else self.limit - self.pending
        while room > 0 and self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                room -= 1

    def _forget_before(self, moment: float) -> None:
        """Forget the writes made before `moment` that are still pending."""
        with self._lock:
            while self._written and self._written[0][0] < moment:
                _, aggregate, version = self._written.popleft()
                versions = self._pending.get(aggregate, [])
                at = bisect.bisect_left(versions, version)
                if at < len(versions) and versions[at] == version:  # not heard of since
                    del versions[at]
                    if not versions:
                        del self._pending[aggregate]
