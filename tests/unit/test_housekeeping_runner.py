"""The housekeeping timer on a fake clock: the first purge shortly after start, then one per
interval however often it is ticked, and a failed purge neither stops it nor is retried
before its next turn."""

from __future__ import annotations

import asyncio
import logging

import psycopg
import pytest

from infra.postgres.housekeeping import FIRST_RUN_AFTER, PeriodicPurge, PurgeReport
from infra.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Purges:
    """A purge that counts its calls, failing with `fail` when given."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail: BaseException | None = None

    async def __call__(self) -> PurgeReport:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        return PurgeReport({"revoked_tokens": 1})


def test_ticks_purge_shortly_after_start_then_once_per_interval() -> None:
    clock, purges = Clock(), Purges()
    timer = PeriodicPurge(purges, every=3600, clock=clock)

    async def ticks_until(until: float, step: float = 30) -> None:
        while clock.now < until:  # the worker's ticks come every 30 s
            await timer.tick()
            clock.now += step

    asyncio.run(ticks_until(1000 + FIRST_RUN_AFTER - 1, step=1))
    assert purges.calls == 0
    asyncio.run(ticks_until(1000 + FIRST_RUN_AFTER + 1, step=1))
    assert purges.calls == 1
    asyncio.run(ticks_until(1000 + FIRST_RUN_AFTER + 3599))
    assert purges.calls == 1
    asyncio.run(ticks_until(1000 + FIRST_RUN_AFTER + 3 * 3600 + 60))
    assert purges.calls == 4


def test_an_interval_shorter_than_the_first_delay_comes_first() -> None:
    clock, purges = Clock(), Purges()
    timer = PeriodicPurge(purges, every=5, clock=clock)
    clock.now += 5
    asyncio.run(timer.tick())
    assert purges.calls == 1


@pytest.mark.parametrize(
    ("error", "level"),
    [
        (psycopg.OperationalError("connection refused"), logging.WARNING),
        (KeyError("bug"), logging.ERROR),
    ],
)
def test_a_failed_purge_is_logged_and_the_next_turn_purges_again(
    error: BaseException, level: int, caplog: pytest.LogCaptureFixture
) -> None:
    clock, purges = Clock(), Purges()
    timer = PeriodicPurge(purges, every=600, first_after=0, clock=clock)
    purges.fail = error
    with caplog.at_level(logging.WARNING, logger="infra.postgres.housekeeping"):
        asyncio.run(timer.tick())
    assert purges.calls == 1
    assert [r.levelno for r in caplog.records] == [level]
    assert "purge failed" in caplog.records[0].getMessage()

    purges.fail = None
    clock.now += 599
    asyncio.run(timer.tick())
    assert purges.calls == 1  # not retried before its turn
    clock.now += 1
    asyncio.run(timer.tick())
    assert purges.calls == 2


def test_run_sleeps_until_each_purge_is_due() -> None:
    clock, purges = Clock(), Purges()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds
        if len(slept) == 4:
            raise asyncio.CancelledError  # as the container's close cancels it

    timer = PeriodicPurge(purges, every=3600, first_after=10, clock=clock, sleep=sleep)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(timer.run())
    assert slept == [10, 3600, 3600, 3600]
    assert purges.calls == 3


def test_a_cancelled_purge_is_not_taken_for_a_failure() -> None:
    clock, purges = Clock(), Purges()
    purges.fail = asyncio.CancelledError()
    timer = PeriodicPurge(purges, every=60, first_after=0, clock=clock)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(timer.tick())


def test_the_interval_is_the_housekeeping_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.postgres.housekeeping import periodic_purge

    monkeypatch.setenv("ITINERA_HOUSEKEEPING_SECONDS", "120")
    timer = periodic_purge(Settings(database_url="postgresql://nowhere/none"))
    assert timer.every == 120
