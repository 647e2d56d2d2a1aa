"""The one place that builds concrete adapters and hands them to the application layers.

Nothing here runs at import time: every client is built by a function call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import redis
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from infra.identity.keys import KeyFolder
from infra.identity.memory_stores import InMemoryRateLimiter, InMemoryRevocationStore
from infra.identity.redis_stores import RedisRateLimiter, RedisRevocationStore
from infra.postgres.idempotency import PostgresIdempotencyStore
from infra.postgres.migrate import migrate, migration_lock
from infra.postgres.ordered_recorder import TOPIC as ORDERED_RECORDER_TOPIC
from infra.postgres.read_store import PostgresTripReadStore
from infra.postgres.user_directory import PostgresUserDirectory
from infra.settings import Settings
from projections.embedded import EmbeddedProjector
from projections.handler import ReadModels
from read_side.store import TripReadStore
from read_side.users import UserDirectory
from streams.outbox import OutboxReader
from write_side.event_store import EventStore
from write_side.identity.accounts import Accounts
from write_side.identity.ports import RateLimiter, RevocationStore
from write_side.identity.tokens import TokenPolicy, TokenService
from write_side.trips.planner import TripPlanner

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


def build_event_store(settings: Settings, *, create_tables: bool = False) -> EventStore:
    url = require_database_url(settings)
    return EventStore(env=event_store_env(url, settings.db_pool_size, create_tables=create_tables))


def prepare_database(settings: Settings) -> None:
    """Create the event store tables and apply read-model migrations (safe to run from several
    processes at once)."""
    url = require_database_url(settings)
    with migration_lock(url):
        build_event_store(settings, create_tables=True).close()
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


def read_models(pool: AsyncConnectionPool) -> ReadModels:
    return ReadModels(trips=PostgresTripReadStore(pool), users=PostgresUserDirectory(pool))


def security_stores(settings: Settings) -> tuple[RevocationStore, RateLimiter, redis.Redis | None]:
    """Redis when configured (shared by every API instance), else in this process."""
    if settings.redis_url:
        client = redis.Redis.from_url(settings.redis_url)
        namespace = settings.redis_namespace
        return (
            RedisRevocationStore(client, namespace),
            RedisRateLimiter(client, namespace),
            client,
        )
    return InMemoryRevocationStore(), InMemoryRateLimiter(), None


def token_policy(settings: Settings) -> TokenPolicy:
    return TokenPolicy(
        access_ttl_seconds=settings.access_token_ttl_seconds,
        refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
    )


@dataclass
class Container:
    """What the API needs at run time."""

    settings: Settings
    events: EventStore
    planner: TripPlanner
    accounts: Accounts
    trips: TripReadStore
    users: UserDirectory
    rate_limiter: RateLimiter
    idempotency: PostgresIdempotencyStore
    _pool: AsyncConnectionPool
    _sync_pool: ConnectionPool
    _redis: redis.Redis | None
    _background: list[asyncio.Task[None]] = field(default_factory=list)

    async def close(self) -> None:
        for task in self._background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._pool.close()
        self._sync_pool.close()
        if self._redis is not None:
            self._redis.close()
        self.events.close()


@contextlib.asynccontextmanager
async def api_container(settings: Settings) -> AsyncIterator[Container]:
    """The API's adapters. In embedded mode the projector runs beside it, in this process."""
    events = await asyncio.to_thread(build_event_store, settings)
    keys = KeyFolder(settings.keys_folder)
    revocations, rate_limiter, redis_client = security_stores(settings)
    tokens = TokenService(keys, revocations, token_policy(settings))
    pool = await open_read_pool(settings)
    sync_pool = ConnectionPool(
        require_database_url(settings),
        min_size=1,
        max_size=settings.db_pool_size,
        kwargs={"autocommit": True},
        open=False,
    )
    await asyncio.to_thread(sync_pool.open, True)
    models = read_models(pool)
    container = Container(
        settings=settings,
        events=events,
        planner=TripPlanner(events),
        accounts=Accounts(events, tokens),
        trips=models.trips,
        users=models.users,
        rate_limiter=rate_limiter,
        idempotency=PostgresIdempotencyStore(sync_pool),
        _pool=pool,
        _sync_pool=sync_pool,
        _redis=redis_client,
    )
    if settings.project_in_process:
        projector = EmbeddedProjector(OutboxReader(events), models)
        await projector.catch_up()
        container._background.append(asyncio.create_task(projector.run()))
    try:
        yield container
    finally:
        await container.close()
