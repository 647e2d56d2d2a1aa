"""Draft jobs run in this process (embedded mode): each draft asked for here is started at
once, and every `every` seconds the drafts read model is asked for drafts still queued or
running that no job here is running (one asked for before a crash, or by another process
sharing the database), which are taken up again. A job is idempotent, so two processes
taking the same draft make one outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from uuid import UUID

from read_side.drafts import DraftStore
from write_side.planner.jobs import DraftJobs

log = logging.getLogger(__name__)


class DraftRunner:
    def __init__(
        self, jobs: DraftJobs, drafts: DraftStore, *, concurrency: int, every: float
    ) -> None:
        self._jobs = jobs
        self._drafts = drafts
        self._slots = asyncio.Semaphore(concurrency)
        self._every = every
        self._running: dict[UUID, asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()

    def submit(self, draft_id: UUID) -> None:
        """Start a draft's job now (unless one is running here)."""
        if draft_id in self._running or self._stopping.is_set():
            return
        task = asyncio.create_task(self._run(draft_id), name=f"draft-{draft_id}")
        self._running[draft_id] = task

    async def _run(self, draft_id: UUID) -> None:
        try:
            async with self._slots:
                status = await self._jobs.run(draft_id)
                log.info("itinerary draft %s: %s", draft_id, status.value)
        except Exception:
            # The event store or a bug: the draft stays unfinished and is taken up again at
            # the next sweep.
            log.exception("itinerary draft %s could not be run; will retry", draft_id)
        finally:
            self._running.pop(draft_id, None)

    async def sweep(self) -> int:
        """Take up the unfinished drafts no job here runs; returns how many."""
        found = [d for d in await self._drafts.unfinished(100) if d not in self._running]
        for draft_id in found:
            self.submit(draft_id)
        return len(found)

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.sweep()
            except Exception:
                log.exception("unfinished itinerary drafts could not be listed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._every)

    async def stop(self, running: asyncio.Task[None], grace: float = 10.0) -> None:
        """Let running jobs finish within `grace`; a job cut short is resumed at the next
        start (its draft is still running in the event store)."""
        self._stopping.set()
        await running
        jobs = list(self._running.values())
        if jobs:
            _, late = await asyncio.wait(jobs, timeout=grace)
            for job in late:
                job.cancel()
            await asyncio.gather(*late, return_exceptions=True)
