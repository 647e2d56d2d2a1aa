"""A projection's lanes are written by two writers at once in the Faust worker: each batch
marks how far it got, and a timer reports the partitions' heads. Both lock the same rows;
they must take them in one order, or PostgreSQL kills one as a deadlock (it stopped a worker
once)."""

from __future__ import annotations

import asyncio

from infra.database import open_read_pool
from infra.postgres.projections.catalogue import tables_named
from infra.postgres.projections.schema import ProjectionSchema
from infra.settings import Settings
from projections.engine.ports import LaneMark

LANES = [f"trip-events/{partition}" for partition in range(16)]


async def _race(settings: Settings, rounds: int) -> None:
    pool = await open_read_pool(settings)
    try:
        store = ProjectionSchema(pool, tables_named("trip_views")).store()

        async def mark() -> None:
            for n in range(rounds):
                async with store.batch() as batch:
                    # Lanes in the order a batch met them: here, the reverse of the timer's.
                    await batch.mark([LaneMark(lane, n, None) for lane in reversed(LANES)])
                    await asyncio.sleep(0)  # hold the locks while the timer runs

        async def report() -> None:
            for n in range(rounds):
                await store.report_heads({lane: n + 100 for lane in LANES})

        await asyncio.gather(mark(), mark(), report(), report())
    finally:
        await pool.close()


def test_marks_and_head_reports_running_together_never_deadlock(api_settings: Settings) -> None:
    asyncio.run(_race(api_settings, rounds=300))
