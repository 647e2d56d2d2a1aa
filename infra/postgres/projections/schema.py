"""Creating, filling and swapping a projection's tables (blue/green).

The live tables serve while a rebuild fills a shadow copy (`<table>__shadow`). The swap is one
transaction: it locks the projection's state row (live drivers that wait for a rebuild read
it, so they see the swap whole or not at all) and the live tables (so no live batch commits
in between), lets the rebuild apply what the event store received meanwhile, then renames the
shadow tables over the live ones and records the version built.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

import psycopg
from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

from infra.postgres.projections.names import LIVE, RETIRED, SHADOW, Generation
from infra.postgres.projections.store import PostgresProjectionStore, transient_errors
from infra.postgres.projections.tables import (
    StateTables,
    create_engine_tables,
    engine_indexes,
    engine_tables,
)
from projections.engine.ports import TransientStoreError

log = logging.getLogger(__name__)

S = TypeVar("S")

SWAP_LOCK_TIMEOUT = "30s"
_EXISTS = "SELECT to_regclass(%s) IS NOT NULL"
_INSERT_STATE = "INSERT INTO projection_state (name) VALUES (%s) ON CONFLICT (name) DO NOTHING"
_RECORD_BUILD = (
    "UPDATE projection_state SET version = %s, built_at = now(), build_events = %s,"
    " build_seconds = %s WHERE name = %s"
)


class RebuildRunningError(RuntimeError):
    def __init__(self, projection: str) -> None:
        super().__init__(f"a rebuild of {projection} is already running")


@dataclass(frozen=True)
class BuiltState:
    version: int | None  # None: never built
    events: int | None
    seconds: float | None


def owned_tables(tables: StateTables[Any]) -> tuple[str, ...]:
    return (*tables.tables, *engine_tables(tables.projection))


def create_statements(
    tables: StateTables[Any], gen: Generation, *, indexes: bool
) -> list[sql.Composed]:
    statements = [*tables.create(gen), *create_engine_tables(tables.projection, gen)]
    return statements + index_statements(tables, gen) if indexes else statements


def index_statements(tables: StateTables[Any], gen: Generation) -> list[sql.Composed]:
    return [*tables.indexes(gen), *engine_indexes(tables.projection, gen)]


def ensure_live_tables(
    conninfo: str, catalogue: list[tuple[StateTables[Any], int]], *, nothing_to_project: bool
) -> list[str]:
    """Create each projection's live tables where they do not exist (call it under the
    migration lock). With nothing to project (an empty event store) they are complete as
    created; otherwise their version stays unknown and the projection rebuilds. Returns the
    projections whose tables were created."""
    created = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for tables, version in catalogue:
            names = owned_tables(tables)
            with conn.transaction():
                conn.execute(_INSERT_STATE, (tables.projection,))
                exists = [conn.execute(_EXISTS, (name,)).fetchone() for name in names]
                if all(row and row[0] for row in exists):
                    continue
                for name in names:
                    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(LIVE.table(name)))
                for statement in create_statements(tables, LIVE, indexes=True):
                    conn.execute(statement)
                built = version if nothing_to_project else None
                conn.execute(_RECORD_BUILD, (built, 0, 0.0, tables.projection))
                created.append(tables.projection)
    return created


class ProjectionSchema(Generic[S]):
    def __init__(self, pool: AsyncConnectionPool, tables: StateTables[S]) -> None:
        self.tables = tables
        self.name = tables.projection
        self.pool = pool

    def store(self, gen: Generation = LIVE) -> PostgresProjectionStore[S]:
        return PostgresProjectionStore.on_pool(self.pool, self.tables, gen)

    def shadow_store(self) -> PostgresProjectionStore[S]:
        return self.store(SHADOW)

    async def built(self) -> BuiltState:
        async with transient_errors(), self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT version, build_events, build_seconds FROM projection_state WHERE name = %s",
                (self.name,),
            )
            row = await cursor.fetchone()
        return BuiltState(None, None, None) if row is None else BuiltState(*row)

    async def built_version_after_swaps(self) -> int | None:
        """The version the live tables hold; waits while a swap is committing."""
        async with transient_errors(), self.pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "SELECT version FROM projection_state WHERE name = %s FOR SHARE", (self.name,)
            )
            row = await cursor.fetchone()
        return None if row is None else row[0]

    @asynccontextmanager
    async def rebuild_lock(self) -> AsyncIterator[None]:
        """Held for a whole rebuild; a second one of the same projection is refused."""
        key = f"rebuild:{self.name}"
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (key,)
            )
            row = await cursor.fetchone()
            if row is None or not row[0]:
                raise RebuildRunningError(self.name)
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))

    async def prepare_shadow(self) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            await self._drop(conn, SHADOW)
            for statement in create_statements(self.tables, SHADOW, indexes=False):
                await conn.execute(statement)

    async def index_shadow(self) -> None:
        async with self.pool.connection() as conn:
            for statement in index_statements(self.tables, SHADOW):
                await conn.execute(statement)
            for name in owned_tables(self.tables):
                await conn.execute(sql.SQL("ANALYZE {}").format(SHADOW.table(name)))

    async def drop_shadow(self) -> None:
        async with self.pool.connection() as conn:
            await self._drop(conn, SHADOW)

    @asynccontextmanager
    async def swap(
        self, version: int, events: int, seconds: float
    ) -> AsyncIterator[PostgresProjectionStore[S]]:
        """Yields a store of the shadow tables inside the swap's transaction: apply what the
        event store received since the last catch-up, and the swap commits it with them."""
        names = owned_tables(self.tables)
        async with self.pool.connection() as conn:
            async with conn.transaction():
                await conn.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
                await _lock_state_row(conn, self.name)
                live = [name for name in names if await _exists(conn, LIVE.name_of(name))]
                if live:
                    await _take(conn, live)

                @asynccontextmanager
                async def this_connection() -> AsyncIterator[AsyncConnection]:
                    yield conn

                yield PostgresProjectionStore(this_connection, self.tables, SHADOW)
                await self._drop(conn, RETIRED)
                for name in live:
                    await _rename(conn, LIVE, RETIRED, name)
                for name in names:
                    await _rename(conn, SHADOW, LIVE, name)
                await conn.execute(_RECORD_BUILD, (version, events, seconds, self.name))
            await self._drop(conn, RETIRED)
        log.info("%s: version %d swapped in", self.name, version)

    async def _drop(self, conn: AsyncConnection[Any], gen: Generation) -> None:
        for name in owned_tables(self.tables):
            await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(gen.table(name)))

    async def skipped(self) -> dict[UUID, frozenset[int]]:
        """The events operators skipped (`itinera dlq skip`): a rebuild skips them too."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT aggregate_id, array_agg(aggregate_version) FROM projection_skips"
                " WHERE projection = %s GROUP BY aggregate_id",
                (self.name,),
            )
            return {row[0]: frozenset(row[1]) for row in await cursor.fetchall()}


async def _exists(conn: AsyncConnection[Any], table: str) -> bool:
    cursor = await conn.execute(_EXISTS, (table,))
    row = await cursor.fetchone()
    return bool(row and row[0])


async def _rename(conn: AsyncConnection[Any], old: Generation, new: Generation, name: str) -> None:
    await conn.execute(
        sql.SQL("ALTER TABLE {} RENAME TO {}").format(old.table(name), new.table(name))
    )


async def _lock_state_row(conn: AsyncConnection[Any], name: str) -> None:
    await conn.execute(_INSERT_STATE, (name,))
    await conn.execute("SELECT 1 FROM projection_state WHERE name = %s FOR UPDATE", (name,))


async def _take(conn: AsyncConnection[Any], live: list[str]) -> None:
    """Lock the live tables for the swap. A reader can hold one while waiting for another
    (a join): PostgreSQL then breaks the deadlock by failing one side; when it is this one,
    or the lock does not come in time, the swap is to be tried again."""
    try:
        await conn.execute(
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
                sql.SQL(", ").join(LIVE.table(name) for name in live)
            )
        )
    except (psycopg.errors.DeadlockDetected, psycopg.errors.LockNotAvailable) as error:
        raise TransientStoreError(f"{type(error).__name__}: {error}") from error
