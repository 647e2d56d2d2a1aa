"""Closing the container's background tasks: a task that swallowed its cancellation (as a
connection pool's checkout did to the metrics sampler) must not hang the shutdown."""

from __future__ import annotations

import asyncio

import pytest

from infra.wiring import _cancel

pytestmark = pytest.mark.anyio


async def test_a_task_that_swallows_its_cancellation_is_cancelled_again() -> None:
    swallowed = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            swallowed.set()  # and goes on, as if nothing happened
        await asyncio.sleep(60)

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    closing = asyncio.create_task(_cancel(task))
    try:
        # Waited for without cancelling it: a closer stuck on the task stays stuck.
        done, _ = await asyncio.wait({closing}, timeout=10)
        assert closing in done, "the closer waits for ever on a task that swallowed its cancel"
        assert swallowed.is_set() and task.cancelled()
    finally:
        for leftover in (closing, task):
            leftover.cancel()
