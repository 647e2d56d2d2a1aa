"""What the projections publish from their own thread reaches subscribers on the API's loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from infra.live.memory_feed import InProcessFeed, InProcessPresence
from infra.projecting_thread import _FeedOn, _PresenceOn

pytestmark = pytest.mark.anyio


async def test_a_message_published_on_another_loop_reaches_a_subscriber_on_this_one() -> None:
    feed, presence = InProcessFeed(), InProcessPresence()
    api_loop = asyncio.get_running_loop()
    await presence.mark("room", "ann", 60)

    async def projecting() -> set[str]:
        await _FeedOn(api_loop, feed).publish("user_ann", b"hello")
        _FeedOn(api_loop, feed).deliver_here("user_ann", b"again")
        return await _PresenceOn(api_loop, presence).present("room", ["ann", "bob"])

    found: list[set[str]] = []
    async with feed.subscribe("user_ann", 10) as subscription:
        other = threading.Thread(target=lambda: found.append(asyncio.run(projecting())))
        other.start()
        first = await asyncio.wait_for(subscription.queue.get(), 10)
        second = await asyncio.wait_for(subscription.queue.get(), 10)
        await asyncio.to_thread(other.join, 10)
    assert (first, second, found) == (b"hello", b"again", [{"ann"}])
