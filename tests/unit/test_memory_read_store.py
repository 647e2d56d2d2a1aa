from __future__ import annotations

import pytest

from tests.contracts.projection_store import ProjectionStoreContract
from tests.contracts.read_store import TripReadStoreContract
from tests.contracts.user_directory import UserDirectoryContract
from tests.fakes import InMemoryProjectionStore
from tests.projected import Projected, in_memory_projected


class TestInMemoryTripReadStore(TripReadStoreContract):
    @pytest.fixture
    def models(self) -> Projected:
        return in_memory_projected()


class TestInMemoryUserDirectory(UserDirectoryContract):
    @pytest.fixture
    def models(self) -> Projected:
        return in_memory_projected()


class TestInMemoryProjectionStore(ProjectionStoreContract):
    @pytest.fixture
    def store(self) -> InMemoryProjectionStore:
        return InMemoryProjectionStore()
