from __future__ import annotations

import pytest

from tests.contracts.read_store import TripReadStoreContract
from tests.fakes import InMemoryTripReadStore


class TestInMemoryTripReadStore(TripReadStoreContract):
    @pytest.fixture
    def store(self) -> InMemoryTripReadStore:
        return InMemoryTripReadStore()
