"""The one place that builds concrete adapters and hands them to the application layers.

Nothing here runs at import time: every client is built by a function call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from infra.postgres.migrate import migrate, migration_lock
from infra.postgres.ordered_recorder import TOPIC as ORDERED_RECORDER_TOPIC
from infra.postgres.read_store import PostgresTripReadStore
from infra.settings import Settings
from projections.embedded import EmbeddedProjector
from read_side.store import TripReadStore
from streams.outbox import OutboxReader
from write_side.application import TripPlanner

__all__ = ["Container", "Settings", "api_container"]

log = logging.getLogger(__name__)


def event_store_env(
    database_url: str, pool_size: int, *, create_tables: bool = False
) -> dict[str, str]:
    """eventsourcing's Postgres settings for a PostgreSQL URL (host may be a socket folder)."""
    params = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(params.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size),
        # Server-side insert function (one round trip per save), in a variant that keeps
        # commit order equal to notification-id order; see infra/postgres/ordered_recorder.py.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "yes",
        "APPLICATION_RECORDER_TOPIC": ORDERED_RECORDER_TOPIC,
        # Only `prepare_database` creates tables, under the migration lock: processes starting
        # together would otherwise race on CREATE TYPE.
        "CREATE_TABLE": "yes" if create_tables else "no",
    }


def require_database_url(settings: Settings) -> str:
    if not settings.database_url:
        raise SystemExit(
            "ITINERA_DATABASE_URL is not set. Set it to a PostgreSQL URL, "
            "or run `itinera serve` for the embedded mode."
        )
    return settings.database_url


def build_planner(settings: Settings, *, create_tables: bool = False) -> TripPlanner:
    url = require_database_url(settings)
    return TripPlanner(env=event_store_env(url, settings.db_pool_size, create_tables=create_tables))


def prepare_database(settings: Settings) -> None:
    """Create the event store tables and apply read-model migrations (safe to run from several
    processes at once)."""
    url = require_database_url(settings)
    with migration_lock(url):
        build_planner(settings, create_tables=True).close()
        migrate(url)


async def open_read_pool(settings: Settings) -> AsyncConnectionPool:
    pool = AsyncConnectionPool(
        require_database_url(settings),
        min_size=1,
        max_size=settings.db_pool_size,
        open=False,
        kwargs={"autocommit": True},
    )
    await pool.open(wait=True)
    return pool


@dataclass
class Container:
    """What the API needs at run time."""

    settings: Settings
    planner: TripPlanner
    read_store: TripReadStore
    _pool: AsyncConnectionPool
    _background: list[asyncio.Task[None]] = field(default_factory=list)

    async def close(self) -> None:
        for task in self._background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._pool.close()
        self.planner.close()


@contextlib.asynccontextmanager
async def api_container(settings: Settings) -> AsyncIterator[Container]:
    """The API's adapters. In embedded mode the projector runs beside it, in this process."""
    planner = await asyncio.to_thread(build_planner, settings)
    pool = await open_read_pool(settings)
    store = PostgresTripReadStore(pool)
    container = Container(settings=settings, planner=planner, read_store=store, _pool=pool)
    if settings.project_in_process:
        projector = EmbeddedProjector(OutboxReader(planner), store)
        await projector.catch_up()
        container._background.append(asyncio.create_task(projector.run()))
    try:
        yield container
    finally:
        await container.close()
