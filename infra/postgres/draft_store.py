"""The itinerary drafts read model on PostgreSQL (the table the drafts projection writes),
and the planner's cache of drafts made for identical requests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from infra.postgres.projections.draft_tables import TABLE
from write_side.planner.jobs import CachedDraft


class PostgresDrafts:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def get(self, draft_id: UUID) -> dict[str, Any] | None:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT document FROM {TABLE} WHERE draft_id = %s", (draft_id,)
            )
            row = await cursor.fetchone()
        return None if row is None else dict(row[0])

    async def of_trip(self, trip_id: UUID, limit: int) -> list[dict[str, Any]]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT document FROM {TABLE} WHERE trip_id = %s"
                " ORDER BY requested_at DESC, draft_id LIMIT %s",
                (trip_id, limit),
            )
            return [dict(row[0]) for row in await cursor.fetchall()]

    async def unfinished(self, limit: int) -> list[UUID]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT draft_id FROM {TABLE} WHERE status IN ('queued', 'running')"
                " ORDER BY requested_at LIMIT %s",
                (limit,),
            )
            return [row[0] for row in await cursor.fetchall()]


class PostgresDraftCache:
    """Drafts by request key, kept `window` long (0: no cache). Sync: the job calls it from
    a worker thread, as it does the event store."""

    def __init__(self, pool: ConnectionPool, window: timedelta) -> None:
        self._pool = pool
        self._window = window

    def get(self, key: str) -> CachedDraft | None:
        if not self._window:
            return None
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT document, usage FROM planner_draft_cache"
                " WHERE key = %s AND made_at > now() - %s",
                (key, self._window),
            ).fetchone()
        return None if row is None else CachedDraft(dict(row[0]), dict(row[1]))

    def put(self, key: str, cached: CachedDraft) -> None:
        if not self._window:
            return
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO planner_draft_cache (key, document, usage) VALUES (%s, %s, %s)"
                " ON CONFLICT (key) DO UPDATE SET document = excluded.document,"
                " usage = excluded.usage, made_at = now()",
                (key, Jsonb(cached.document), Jsonb(cached.usage)),
            )
            conn.execute(  # the expired, a few at a time
                "DELETE FROM planner_draft_cache WHERE key IN (SELECT key FROM"
                " planner_draft_cache WHERE made_at < now() - %s LIMIT 100)",
                (self._window,),
            )
