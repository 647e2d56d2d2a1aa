from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from infra.identity.redis_stores import RedisRateLimiter
from tests.contracts.security_stores import RateLimiterContract


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def namespace() -> str:
    return f"itinera-test-{uuid.uuid4().hex[:8]}"


class TestRedisRateLimiter(RateLimiterContract):
    @pytest.fixture
    def limiter(self, client: redis.Redis) -> RedisRateLimiter:
        return RedisRateLimiter(client, namespace())
