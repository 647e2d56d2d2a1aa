"""A projection as a live driver runs it.

While its live tables hold another version than the code declares, a rebuild is due: until
the rebuild's swap, the old tables keep serving and what arrives is acknowledged without
being applied. That loses nothing: an event reaches a driver only after the event store
recorded it, and the rebuild applies everything the store recorded before its swap. (The
check waits while a swap commits, so it sees the swap whole or not at all.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, Protocol, TypeVar

from projections.engine.applier import Applier, Outcome
from projections.engine.ports import Delivery, LaneMark

log = logging.getLogger(__name__)

S = TypeVar("S")

REBUILD_RETRY_SECONDS = 10.0


class BuiltVersion(Protocol):
    async def built_version_after_swaps(self) -> int | None: ...


class LiveProjection(Generic[S]):
    def __init__(
        self,
        applier: Applier[S],
        built: BuiltVersion,
        rebuild: Callable[[], Awaitable[object]],
        *,
        rebuild_running: type[Exception],  # what `rebuild` raises while another one runs
    ) -> None:
        self.applier = applier
        self.name = applier.projection.name
        self._built = built
        self._rebuild = rebuild
        self._rebuild_running = rebuild_running
        self._current = False

    async def is_current(self) -> bool:
        if not self._current:
            built = await self._built.built_version_after_swaps()
            self._current = built == self.applier.projection.version
        return self._current

    async def apply(
        self, deliveries: Sequence[Delivery], marks: Sequence[LaneMark]
    ) -> Outcome | None:
        """Apply the deliveries; None when a rebuild is due (they are in the store)."""
        if not await self.is_current():
            return None
        return await self.applier.apply(deliveries, marks)

    async def rebuild_while_outdated(self) -> None:
        """Rebuild (here, or wait for the process that is) until the live tables hold this
        version. Runs beside the driver, which keeps consuming meanwhile."""
        while not await self.is_current():
            try:
                log.warning("%s: the live tables hold another version; rebuilding", self.name)
                await self._rebuild()
            except self._rebuild_running:
                log.info("%s: another process is rebuilding it; waiting", self.name)
            except Exception:
                log.exception("%s: rebuild failed; trying again", self.name)
            else:
                continue
            await asyncio.sleep(REBUILD_RETRY_SECONDS)
