from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from infra.database import open_read_pool, prepare_database
from infra.postgres.projections.catalogue import tables_named
from infra.postgres.projections.store import PostgresProjectionStore
from infra.postgres.read_store import PostgresTripReadStore
from infra.postgres.user_directory import PostgresUserDirectory
from infra.settings import Settings
from tests.contracts.projection_store import ProjectionStoreContract
from tests.contracts.read_store import TripReadStoreContract
from tests.contracts.user_directory import UserDirectoryContract
from tests.projected import Projected


@pytest.fixture
async def models(database_url: str) -> AsyncIterator[Projected]:
    settings = Settings(database_url=database_url)
    prepare_database(settings)
    pool = await open_read_pool(settings)
    try:
        yield Projected(
            trips=PostgresTripReadStore(pool),
            users=PostgresUserDirectory(pool),
            trip_store=PostgresProjectionStore.on_pool(pool, tables_named("trip_views")),
            user_store=PostgresProjectionStore.on_pool(pool, tables_named("user_directory")),
        )
    finally:
        await pool.close()


class TestPostgresTripReadStore(TripReadStoreContract):
    pass


class TestPostgresUserDirectory(UserDirectoryContract):
    pass


class TestPostgresProjectionStore(ProjectionStoreContract):
    @pytest.fixture
    def store(self, models: Projected):
        return models.trip_store
