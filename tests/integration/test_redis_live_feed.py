"""The Redis pub/sub feed: two instances (as two API processes) over a real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import redis

from infra.live.redis_feed import RedisFeed
from infra.live.redis_presence import RedisPresence
from read_side.live import RESYNC, LiveFeed
from tests.contracts.live_feed import Feeds, LiveFeedContract, received
from tests.services import free_port


@asynccontextmanager
async def two_instances(url: str) -> AsyncIterator[tuple[RedisFeed, RedisFeed]]:
    namespace = f"itinera-test-{uuid.uuid4().hex[:8]}"
    here, there = RedisFeed(url, namespace, 1.0), RedisFeed(url, namespace, 1.0)
    await here.start()
    await there.start()
    try:
        yield here, there
    finally:
        await here.close()
        await there.close()


class TestRedisFeed(LiveFeedContract):
    @pytest.fixture
    def feeds(self, redis_url: str) -> Feeds:
        @asynccontextmanager
        async def pair() -> AsyncIterator[tuple[LiveFeed, LiveFeed]]:
            async with two_instances(redis_url) as feeds:
                yield feeds

        return pair


@pytest.mark.anyio
async def test_a_lost_connection_tells_subscribers_to_resync_then_delivers_again(
    redis_url: str,
) -> None:
    async with two_instances(redis_url) as (here, there), there.subscribe("room", 16) as sub:
        admin = redis.Redis.from_url(redis_url)
        killed = admin.client_kill_filter(_type="pubsub")
        admin.close()
        assert killed >= 1
        assert await received(sub, 1) == [RESYNC]
        for _ in range(50):  # the publisher does not know when the reader is back
            await here.publish("room", b"again")
            try:
                got = await asyncio.wait_for(sub.queue.get(), 0.1)
            except TimeoutError:
                continue
            assert got == b"again"
            return
        raise AssertionError("nothing delivered after reconnecting")


@pytest.mark.anyio
async def test_a_redis_that_is_down_fails_no_write(redis_url: str) -> None:
    """The message is stored before it is published: a write must not fail for its
    broadcast (subscribers find it in the history)."""
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    down = RedisFeed(nowhere, "itinera-test", 0.2)
    await down.publish("room", b"stored already")
    await down.close()
    presence = RedisPresence(nowhere, "itinera-test", 0.2)
    await presence.mark("room", "ada", 5)
    assert await presence.present("room", ["ada"]) == set()  # unknown: taken as away
    await presence.close()
