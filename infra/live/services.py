"""Live delivery to sockets: Redis when configured (several API instances), else in this
process."""

from __future__ import annotations

from dataclasses import dataclass

from infra.live.memory_feed import InProcessFeed, InProcessPresence
from infra.live.redis_feed import RedisFeed
from infra.live.redis_presence import RedisPresence
from infra.settings import Settings
from read_side.live import LiveFeed, Presence


@dataclass
class Live:
    """Live delivery to sockets, and who has which room open."""

    feed: LiveFeed
    presence: Presence

    async def close(self) -> None:
        await self.feed.close()
        await self.presence.close()


async def live_services(settings: Settings) -> Live:
    """Redis (pub/sub, expiring keys) when configured: sockets on several API instances.
    Else in this process (embedded mode, or the CLI, which has no sockets)."""
    if not settings.redis_url:
        return Live(InProcessFeed(), InProcessPresence())
    url, namespace, timeout = settings.redis_url, settings.redis_namespace, settings.redis_timeout
    feed = RedisFeed(url, namespace, timeout)
    await feed.start()
    return Live(feed, RedisPresence(url, namespace, timeout))
