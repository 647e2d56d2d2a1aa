from __future__ import annotations

import pytest

from tests.contracts.read_store import TripReadStoreContract
from tests.contracts.user_directory import UserDirectoryContract
from tests.fakes import InMemoryTripReadStore, InMemoryUserDirectory


class TestInMemoryTripReadStore(TripReadStoreContract):
    @pytest.fixture
    def store(self) -> InMemoryTripReadStore:
        return InMemoryTripReadStore()


class TestInMemoryUserDirectory(UserDirectoryContract):
    @pytest.fixture
    def directory(self) -> InMemoryUserDirectory:
        return InMemoryUserDirectory()
