"""The database a process works on: the event store's settings and tables, migrations, the
read models' tables, and the read side's connection pool."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool

from infra.observability.recorders import count_saved_events
from infra.postgres.migrate import migrate, migration_lock
from infra.postgres.ordered_recorder import TOPIC as ORDERED_RECORDER_TOPIC
from infra.postgres.projections.catalogue import catalogue
from infra.postgres.projections.schema import (
    ensure_live_tables,
)
from infra.settings import Settings
from write_side.event_store import EventStore

log = logging.getLogger(__name__)

# eventsourcing keeps this many connections open per event store (more are opened on demand).
WARM_CONNECTIONS = 1


def event_store_env(
    database_url: str, pool_size: int, *, create_tables: bool = False, lock_timeout: int = 5
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
        # eventsourcing opens POOL_SIZE connections at once and grows to POOL_SIZE +
        # MAX_OVERFLOW under load: keep one open per event store, up to twice `pool_size`.
        # (Ten eager ones per store made a worker hold about sixty connections at rest.)
        "POSTGRES_POOL_SIZE": str(WARM_CONNECTIONS),
        "POSTGRES_MAX_OVERFLOW": str(2 * pool_size - WARM_CONNECTIONS),
        # Server-side insert function (one round trip per save), in a variant that keeps
        # commit order equal to notification-id order; see infra/postgres/ordered_recorder.py.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "yes",
        "APPLICATION_RECORDER_TOPIC": ORDERED_RECORDER_TOPIC,
        # A save that waits longer than this for the insert lock (held by a stuck writer or
        # an anti-wraparound VACUUM) fails with a clear error instead of queueing forever.
        "POSTGRES_LOCK_TIMEOUT": str(lock_timeout),
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
    env = event_store_env(
        url,
        settings.db_pool_size,
        create_tables=create_tables,
        lock_timeout=settings.event_store_lock_timeout,
    )
    events = EventStore(env=env)
    events.observe_saves(count_saved_events)
    return events


def prepare_database(settings: Settings) -> None:
    """Create the event store tables, apply migrations and create every projection's tables
    (safe to run from several processes at once)."""
    url = require_database_url(settings)
    with migration_lock(url):
        events = build_event_store(settings, create_tables=True)
        try:
            empty = events.recorder.max_notification_id() is None
        finally:
            events.close()
        migrate(url)
        created = ensure_live_tables(
            url,
            [(tables, projection.version) for projection, tables in catalogue()],
            nothing_to_project=empty,
        )
        for name in created:
            log.info("created the tables of projection %s", name)


async def _json_from_orjson(conn: psycopg.AsyncConnection[Any]) -> None:
    set_json_loads(orjson.loads, conn)


async def open_read_pool(settings: Settings, size: int | None = None) -> AsyncConnectionPool:
    """A pool of autocommit connections (JSON decoded by orjson) of `size` connections at
    most (default: `db_pool_size`)."""
    pool = AsyncConnectionPool(
        require_database_url(settings),
        min_size=1,
        max_size=size or settings.db_pool_size,
        open=False,
        kwargs={"autocommit": True},
        configure=_json_from_orjson,
    )
    await pool.open(wait=True)
    return pool
