"""Revocation store and rate limiter on Redis: shared by every API instance."""

from __future__ import annotations

import redis

_ROTATE = """
local current = redis.call('GET', KEYS[1])
if current and current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
redis.call('SET', KEYS[1], '!revoked', 'EX', ARGV[3])
return 0
"""

_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
"""


class RedisRevocationStore:
    def __init__(self, client: redis.Redis, namespace: str = "itinera") -> None:
        self._redis = client
        self._ns = namespace
        self._rotate = client.register_script(_ROTATE)

    def revoke_token(self, jti: str, ttl_seconds: int) -> None:
        self._redis.set(f"{self._ns}:jti:{jti}", 1, ex=ttl_seconds)

    def revoke_subject_before(self, subject: str, issued_before: float, ttl_seconds: int) -> None:
        self._redis.set(f"{self._ns}:sub:{subject}", repr(issued_before), ex=ttl_seconds)

    def is_revoked(self, jti: str, subject: str, issued_at: float) -> bool:
        token, before = self._redis.mget(f"{self._ns}:jti:{jti}", f"{self._ns}:sub:{subject}")
        return token is not None or (before is not None and issued_at < float(before))

    def start_family(self, family: str, jti: str, ttl_seconds: int) -> None:
        self._redis.set(f"{self._ns}:fam:{family}", jti, ex=ttl_seconds)

    def rotate_family(self, family: str, presented: str, successor: str, ttl_seconds: int) -> bool:
        rotated = self._rotate(
            keys=[f"{self._ns}:fam:{family}"], args=[presented, successor, ttl_seconds]
        )
        return bool(rotated)

    def revoke_family(self, family: str, ttl_seconds: int) -> None:
        self._redis.set(f"{self._ns}:fam:{family}", "!revoked", ex=ttl_seconds)


class RedisRateLimiter:
    """Fixed windows, counted atomically in Redis."""

    def __init__(self, client: redis.Redis, namespace: str = "itinera") -> None:
        self._ns = namespace
        self._hit = client.register_script(_HIT)

    def hit(self, key: str, limit: int, window_seconds: int) -> float | None:
        count, ttl_ms = self._hit(keys=[f"{self._ns}:rate:{key}"], args=[window_seconds * 1000])
        if int(count) <= limit:
            return None
        return max(int(ttl_ms), 1) / 1000
