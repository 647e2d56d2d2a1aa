"""Wake-ups: LISTEN for the NOTIFY every live projection batch sends when it commits (readers
waiting for a version, read-your-writes), and, when asked, for the event store's notice of
each append (the embedded projector, which then reads the log at once) and for the sync
feed's notice of each changed trip (which pokes its members' sockets on this instance), and
for revocations (tokens found unrevoked are asked about again). The versions the trip views
reach pace this process's writers (infra/write_pacing.py).

While the listening connection is down, waiters poll instead (briefly sleeping), and the
connection is opened again in the background.

A notice wakes the waiters of its key alone (a projection, or one aggregate of it), each by
a future they share (one per key, made anew after each notice, dropped with its last
waiter): no lock, so a hundred readers waiting on a busy projection cost a hundred callbacks
per commit, not a hundred handoffs of one lock that the listener itself had to queue for
before it could read the next notice.

A waiter for one aggregate holds a ticket of that aggregate: the commits of other aggregates
between its look and its wait do not send it back to look again. (With projection-wide
tickets, under a few dozen writes a second every reader waiting for its trip's view looked
again after each commit of any trip: a poll at the speed of the writes.) The notice says the
version the view reached, kept beside the ticket: a reader waiting for a version is done
when a notice said so, without looking at the view again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

import psycopg

from infra.postgres.projections.store import CHANNEL
from infra.postgres.projections.sync_tables import POKE_CHANNEL
from infra.write_pacing import WritePacing

log = logging.getLogger(__name__)

POLL_SECONDS = 0.02
APPENDED = "<events appended>"  # the key counting the event store's notices
REVOCATIONS_CHANNEL = "itinera_revocations"  # migration 014's triggers
REVOKED = "<tokens revoked>"  # the key counting them
RECONNECT_SECONDS = 1.0
MARKED_AGGREGATES = 4096  # the aggregates whose latest notice is remembered, newest kept


class PostgresChanges:
    def __init__(
        self,
        conninfo: str,
        events_channel: str | None = None,
        on_sync_change: Callable[[str], None] | None = None,
        *,
        api: bool = True,
        pacing: WritePacing | None = None,
    ) -> None:
        self._conninfo = conninfo
        self._events_channel = events_channel
        self._api = api  # whether to hear what the API's readers wait for
        self._on_sync_change = on_sync_change  # gets each sync feed notice's payload
        self._commits: defaultdict[str, int] = defaultdict(int)
        # Aggregate tickets: each notice's number in one sequence, kept for the latest
        # aggregates changed, and for what may have changed them all: a projection's bare
        # notice, or notices lost (the listener connected again). A forgotten aggregate's
        # ticket falls back to those and to the number of the last one forgotten (which may
        # have been it): it can only move.
        self._sequence = 0
        self._marks: OrderedDict[str, int] = OrderedDict()
        self._versions: dict[str, int] = {}  # of marked aggregates, as their notice said
        self._bare: defaultdict[str, int] = defaultdict(int)  # per projection
        self._relistened = 0
        self._forgotten = 0
        self._next: dict[str, _Wakeup] = {}  # done at the key's next notice
        self._listening = False
        self._task: asyncio.Task[None] | None = None
        self._revoked_here = 0  # revocations this process wrote (from any thread)
        self._revoking = threading.Lock()
        self._pacing = pacing  # told of the views' versions, and of notices lost

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="projection-changes")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._listening = False

    @property
    def listening(self) -> bool:
        """Whether notices arrive now (else waiters poll)."""
        return self._listening

    def ticket(self, projection: str, aggregate: UUID | None = None) -> int:
        if aggregate is None:
            return self._commits[projection]
        marked = self._marks.get(f"{projection}/{aggregate}")
        if marked is None:
            marked = self._forgotten
        return max(marked, self._bare[projection], self._relistened)

    def version_heard(self, projection: str, aggregate: UUID) -> int | None:
        """The version of the aggregate the projection's latest notice of it said it saved;
        None when no notice said one, since notices were lost, or once forgotten."""
        if not self._listening:
            return None
        return self._versions.get(f"{projection}/{aggregate}")

    def revocations_heard(self) -> int | None:
        """A count that moves with every revocation notice, whenever notices may have been
        missed, and at once when this process revokes (before its notice comes back); None
        while notices are not heard (then nothing may be assumed)."""
        if not self._listening:
            return None
        return self._commits[REVOKED] + self._revoked_here

    def revoked_here(self) -> None:
        """This process has just written a revocation: its next request must not wait for
        the notice to refuse the token."""
        with self._revoking:
            self._revoked_here += 1

    def appends(self) -> NewEventWaits:
        """Tickets and waits for the event store's appends (needs `events_channel`)."""
        assert self._events_channel, "not listening to the event store"
        return NewEventWaits(self)

    async def wait(
        self, projection: str, ticket: int, timeout: float, aggregate: UUID | None = None
    ) -> None:
        if not self._listening:
            await asyncio.sleep(min(POLL_SECONDS, timeout))
            return
        if self.ticket(projection, aggregate) != ticket:
            return
        key = projection if aggregate is None else f"{projection}/{aggregate}"
        wakeup = self._next.get(key)
        if wakeup is None:
            wakeup = self._next[key] = _Wakeup(asyncio.get_running_loop().create_future())
        wakeup.waiting += 1
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await asyncio.shield(wakeup.woken)  # a waiter timing out leaves it to others
        finally:
            wakeup.waiting -= 1
            if not wakeup.waiting and self._next.get(key) is wakeup:
                del self._next[key]  # the last waiter of a key that never came

    async def _listen(self) -> None:
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
                async with conn:
                    if self._api:
                        await conn.execute(f"LISTEN {CHANNEL}")
                        await conn.execute(f"LISTEN {REVOCATIONS_CHANNEL}")
                    if self._events_channel:
                        await conn.execute(f'LISTEN "{self._events_channel}"')
                    if self._on_sync_change is not None:
                        await conn.execute(f"LISTEN {POKE_CHANNEL}")
                    await self._set_listening(True)
                    async for notice in conn.notifies():
                        if notice.channel == POKE_CHANNEL and self._on_sync_change is not None:
                            self._on_sync_change(notice.payload)
                            continue
                        if notice.channel == CHANNEL:
                            self._committed(notice.payload)
                            continue
                        key = REVOKED if notice.channel == REVOCATIONS_CHANNEL else APPENDED
                        self._commits[key] += 1
                        self._wake(key)
            except (psycopg.Error, OSError) as error:
                log.warning("projection change notices lost (%s); reconnecting", error)
            await self._set_listening(False)
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _set_listening(self, listening: bool) -> None:
        """Waiters wake either way: to poll while notices are lost, to wait for them again
        once they come back."""
        self._listening = listening
        if self._pacing is not None:
            self._pacing.listening(listening)
        self._commits[REVOKED] += 1  # what was heard before is no guide to what was missed
        self._relistened = self._next_number()
        self._versions.clear()  # what changed while unheard is unknown
        for key in list(self._next):
            self._wake(key)

    def _committed(self, notice: str) -> None:
        """`<projection>/<aggregate id>[/<version>]`: the projection committed a change of
        that aggregate (the version it saved; none: parked, released or removed). A bare
        `<projection>` (as older versions sent) may have changed any of them."""
        projection, _, rest = notice.partition("/")
        aggregate, _, version = rest.partition("/")
        self._commits[projection] += 1
        self._wake(projection)
        if aggregate:
            key = f"{projection}/{aggregate}"
            self._marks[key] = self._next_number()
            self._marks.move_to_end(key)
            if version.isdigit():
                self._versions[key] = int(version)
            else:
                self._versions.pop(key, None)
            if len(self._marks) > MARKED_AGGREGATES:
                gone, self._forgotten = self._marks.popitem(last=False)
                self._versions.pop(gone, None)
            self._wake(key)
            if self._pacing is not None:
                with contextlib.suppress(ValueError):  # not ours to pace
                    self._pacing.heard(
                        projection, UUID(aggregate), int(version) if version else None
                    )
        else:
            self._bare[projection] = self._next_number()
            prefix = f"{projection}/"
            for key in [k for k in self._versions if k.startswith(prefix)]:
                del self._versions[key]
            for key in [k for k in self._next if k.startswith(prefix)]:
                self._wake(key)

    def _next_number(self) -> int:
        self._sequence += 1
        return self._sequence

    def _wake(self, key: str) -> None:
        wakeup = self._next.pop(key, None)
        if wakeup is not None and not wakeup.woken.done():
            wakeup.woken.set_result(None)


@dataclass
class _Wakeup:
    """The next notice of a key, shared by the readers waiting for it."""

    woken: asyncio.Future[None]
    waiting: int = 0


class NewEventWaits:
    def __init__(self, changes: PostgresChanges) -> None:
        self._changes = changes

    def ticket(self) -> int:
        return self._changes.ticket(APPENDED)

    async def wait(self, ticket: int, timeout: float) -> None:
        await self._changes.wait(APPENDED, ticket, timeout)
