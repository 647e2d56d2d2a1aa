"""The contract every LiveFeed adapter passes (subclassed once per adapter)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import pytest

from read_side.live import LiveFeed, Subscription

WAIT = 5.0


class Feeds(Protocol):
    """Two ends of one feed: in-process, the same object; across processes, two instances
    sharing the broker (as two API instances do)."""

    def __call__(self) -> AbstractAsyncContextManager[tuple[LiveFeed, LiveFeed]]: ...


async def received(subscription: Subscription, count: int) -> list[bytes]:
    return [await asyncio.wait_for(subscription.queue.get(), WAIT) for _ in range(count)]


async def nothing_more(subscription: Subscription) -> bool:
    await asyncio.sleep(0.2)
    return subscription.queue.empty()


class LiveFeedContract:
    pytestmark = pytest.mark.anyio

    @pytest.fixture
    async def pair(self, feeds: Feeds) -> AsyncIterator[tuple[LiveFeed, LiveFeed]]:
        async with feeds() as pair:
            yield pair

    async def test_a_message_reaches_every_subscriber_of_its_channel_in_order(
        self, pair: tuple[LiveFeed, LiveFeed]
    ) -> None:
        here, there = pair
        async with (
            there.subscribe("room-a", 16) as first,
            there.subscribe("room-a", 16) as second,
            here.subscribe("room-a", 16) as local,
            there.subscribe("room-b", 16) as other,
        ):
            for n in range(5):
                await here.publish("room-a", b"m%d" % n)
            expected = [b"m%d" % n for n in range(5)]
            for subscription in (first, second, local):
                assert await received(subscription, 5) == expected
            assert await nothing_more(other)

    async def test_a_subscription_that_ended_receives_nothing(
        self, pair: tuple[LiveFeed, LiveFeed]
    ) -> None:
        here, there = pair
        async with there.subscribe("room", 16) as gone:
            pass
        async with there.subscribe("room", 16) as staying:
            await here.publish("room", b"after")
            assert await received(staying, 1) == [b"after"]
        assert gone.queue.empty()

    async def test_a_subscriber_that_falls_behind_is_marked_not_grown(
        self, pair: tuple[LiveFeed, LiveFeed]
    ) -> None:
        here, there = pair
        async with there.subscribe("room", 2) as slow, there.subscribe("room", 16) as fast:
            for n in range(5):
                await here.publish("room", b"%d" % n)
            assert len(await received(fast, 5)) == 5
            assert slow.overflowed.is_set()
            assert slow.queue.qsize() == 2
