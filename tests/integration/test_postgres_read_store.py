from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from infra.postgres.migrate import migrate
from infra.postgres.read_store import PostgresTripReadStore
from infra.postgres.user_directory import PostgresUserDirectory
from infra.settings import Settings
from infra.wiring import open_read_pool
from tests.contracts.read_store import TripReadStoreContract
from tests.contracts.user_directory import UserDirectoryContract


class TestPostgresTripReadStore(TripReadStoreContract):
    @pytest.fixture
    async def store(self, database_url: str) -> AsyncIterator[PostgresTripReadStore]:
        migrate(database_url)
        pool = await open_read_pool(Settings(database_url=database_url))
        try:
            yield PostgresTripReadStore(pool)
        finally:
            await pool.close()


class TestPostgresUserDirectory(UserDirectoryContract):
    @pytest.fixture
    async def directory(self, database_url: str) -> AsyncIterator[PostgresUserDirectory]:
        migrate(database_url)
        pool = await open_read_pool(Settings(database_url=database_url))
        try:
            yield PostgresUserDirectory(pool)
        finally:
            await pool.close()
