from __future__ import annotations

import pytest

from infra.identity.memory_stores import InMemoryRateLimiter, InMemoryRevocationStore
from tests.contracts.security_stores import RateLimiterContract, RevocationStoreContract


class TestInMemoryRevocationStore(RevocationStoreContract):
    @pytest.fixture
    def revocations(self) -> InMemoryRevocationStore:
        return InMemoryRevocationStore()


class TestInMemoryRateLimiter(RateLimiterContract):
    @pytest.fixture
    def limiter(self) -> InMemoryRateLimiter:
        return InMemoryRateLimiter()
