"""Waiting for what follows a write asynchronously (a projection, an exported span)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 10.0, every: float = 0.05) -> T:
    """`check()`'s value once it stops raising AssertionError; its last error after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(every)


async def until(
    condition: Callable[[], bool], what: str = "it", timeout: float = 10.0, every: float = 0.05
) -> None:
    """Return once `condition()` holds, asking every `every` seconds without blocking the
    event loop; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no sign of {what} in {timeout} s")
        await asyncio.sleep(every)
