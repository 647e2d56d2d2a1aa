"""The rate limiter on Redis: counts shared by every API instance.

Redis holds nothing that must survive it (revocations live in PostgreSQL): when it is down
or slow, a limited request is refused with `DependencyUnavailableError` (fail closed), and the
client's own reconnection makes the limiter work again once Redis answers.
"""

from __future__ import annotations

import redis

from write_side.errors import DependencyUnavailableError

_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
"""

_FORGIVE = """
if redis.call('GET', KEYS[1]) and tonumber(redis.call('GET', KEYS[1])) > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
"""


class RedisRateLimiter:
    """Fixed windows, counted atomically in Redis."""

    def __init__(self, client: redis.Redis, namespace: str = "itinera") -> None:
        self._ns = namespace
        self._hit = client.register_script(_HIT)
        self._forgive = client.register_script(_FORGIVE)

    def hit(self, key: str, limit: int, window_seconds: int) -> float | None:
        try:
            count, ttl_ms = self._hit(keys=[f"{self._ns}:rate:{key}"], args=[window_seconds * 1000])
        except redis.RedisError as error:
            raise DependencyUnavailableError("redis") from error
        if int(count) <= limit:
            return None
        return max(int(ttl_ms), 1) / 1000

    def forgive(self, key: str) -> None:
        try:
            self._forgive(keys=[f"{self._ns}:rate:{key}"])
        except redis.RedisError as error:
            raise DependencyUnavailableError("redis") from error
