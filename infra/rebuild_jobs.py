"""A rebuild's scan in several processes. Decoding and folding events is CPU work, and one
Python process uses one core: each job is a process that scans one range of aggregate ids
into the same shadow tables (ranges never share an aggregate, so jobs never touch the same
rows). The parent shows their progress and gathers their outcomes."""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import queue
import traceback
from collections.abc import Sequence
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from typing import Any
from uuid import UUID

from infra.settings import Settings
from projections.engine.applier import Outcome
from projections.engine.rebuild import KeyRange, ParallelScan, Progress, key_ranges
from streams.position import LogPosition

log = logging.getLogger(__name__)

MIN_EVENTS_PER_JOB = 25_000  # below this, starting a process costs more than it saves
REPORT_EVERY = 5_000


def tune_gc_for_throughput() -> None:
    """Collect the youngest generation every 50,000 allocations instead of 700: a rebuild or
    a worker allocates millions of short-lived objects, most of them gone within a batch."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def jobs_for(settings: Settings, events: int) -> int:
    wanted = settings.rebuild_jobs or os.cpu_count() or 1
    return max(1, min(wanted, events // MIN_EVENTS_PER_JOB))


def parallel_scan(settings: Settings, projection: str, jobs: int) -> ParallelScan:
    async def run(head: LogPosition, progress: Progress) -> Outcome:
        context = multiprocessing.get_context("spawn")
        reports: Queue[tuple[str, Any]] = context.Queue()
        children = [
            context.Process(
                target=_scan_range,
                args=(settings.model_dump_json(), projection, _bounds(keys), head, reports),
                name=f"rebuild-{projection}-{n}",
            )
            for n, keys in enumerate(key_ranges(jobs))
        ]
        for child in children:
            child.start()
        try:
            return await _gather(children, reports, progress)
        finally:
            for child in children:
                if child.is_alive():
                    child.terminate()
                child.join()

    return run


async def _gather(
    children: Sequence[BaseProcess], reports: Queue[tuple[str, Any]], progress: Progress
) -> Outcome:
    total = Outcome()
    running = len(children)
    while running:
        try:
            kind, value = await asyncio.to_thread(reports.get, True, 0.5)
        except queue.Empty:  # no report: check that every job is still alive
            dead = [c for c in children if c.exitcode not in (None, 0)]
            if dead:
                failed = dead[0]
                raise RuntimeError(f"rebuild job {failed.name} died ({failed.exitcode})") from None
            continue
        if kind == "progress":
            progress.advance(value)
        elif kind == "done":
            applied, parked, parked_aggregates = value
            total.applied += applied
            total.parked += parked
            total.parked_aggregates.extend(UUID(a) for a in parked_aggregates)
            running -= 1
        else:
            raise RuntimeError(f"a rebuild job failed:\n{value}")
    return total


def _bounds(keys: KeyRange) -> tuple[str | None, str | None]:
    return (
        None if keys.start is None else str(keys.start),
        None if keys.stop is None else str(keys.stop),
    )


class _QueueProgress:
    def __init__(self, reports: Queue[tuple[str, Any]]) -> None:
        self._reports = reports
        self._pending = 0

    def start(self, projection: str, total: int) -> None:
        pass

    def advance(self, done: int) -> None:
        self._pending += done
        if self._pending >= REPORT_EVERY:
            self.finish()

    def finish(self) -> None:
        if self._pending:
            self._reports.put(("progress", self._pending))
            self._pending = 0


def _scan_range(
    settings_json: str,
    projection: str,
    bounds: tuple[str | None, str | None],
    head: LogPosition,
    reports: Queue[tuple[str, Any]],
) -> None:
    """A job's process: scan one key range into the shadow tables."""
    tune_gc_for_throughput()
    try:
        outcome = asyncio.run(
            _scan_async(
                Settings.model_validate_json(settings_json), projection, bounds, head, reports
            )
        )
    except BaseException:
        reports.put(("failed", traceback.format_exc()))
        raise
    reports.put(
        ("done", (outcome.applied, outcome.parked, [str(a) for a in outcome.parked_aggregates]))
    )


async def _scan_async(
    settings: Settings,
    projection: str,
    bounds: tuple[str | None, str | None],
    head: LogPosition,
    reports: Queue[tuple[str, Any]],
) -> Outcome:
    from infra.database import build_event_store, open_read_pool
    from infra.engine_wiring import projection_engine
    from projections.engine.applier import Applier
    from projections.engine.rebuild import AT_ONCE, SCAN_BATCH, scan
    from streams.outbox import OutboxReader

    events = build_event_store(settings)
    pool = await open_read_pool(settings)
    engine = projection_engine(settings, pool, events, OutboxReader(events))
    try:
        (unit,) = [u for u in engine.units if u.projection.name == projection]
        shadow = Applier(
            unit.projection,
            unit.schema.shadow_store(),
            engine.events,
            AT_ONCE,
            skipped=await unit.schema.skipped(),
        )
        start, stop = bounds
        keys = KeyRange(UUID(start) if start else None, UUID(stop) if stop else None)
        progress = _QueueProgress(reports)
        outcome = Outcome()
        await scan(
            unit.projection, shadow, engine.events, head, SCAN_BATCH, progress, outcome, keys
        )
        progress.finish()
        return outcome
    finally:
        engine.close()
        await pool.close()
        events.close()
