from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from infra.live.memory_feed import InProcessFeed
from read_side.live import LiveFeed
from tests.contracts.live_feed import Feeds, LiveFeedContract


class TestInProcessFeed(LiveFeedContract):
    @pytest.fixture
    def feeds(self) -> Feeds:
        @asynccontextmanager
        async def one_process() -> AsyncIterator[tuple[LiveFeed, LiveFeed]]:
            feed = InProcessFeed()
            yield feed, feed
            await feed.close()

        return one_process
