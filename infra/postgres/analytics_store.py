"""The analytics read model on PostgreSQL (tables written by the analytics projection)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

from read_side.analytics import ActiveCounts, DailyRow


class PostgresAnalytics:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def trip_figures(self, trip_id: UUID) -> dict[str, Any] | None:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT figures FROM analytics_trips WHERE trip_id = %s", (trip_id,)
            )
            row = await cursor.fetchone()
        return None if row is None else dict(row[0])

    async def messages_by_member(self, trip_id: UUID) -> dict[UUID, int]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                # Announcements (system messages) are not their actor's words.
                "SELECT actor_id, count(*) FROM analytics_facts"
                " WHERE trip_id = %s AND event_type = 'MessagePostedFact'"
                " AND fact -> 'payload' ->> 'message_type' <> 'system' GROUP BY actor_id",
                (trip_id,),
            )
            return {row[0]: int(row[1]) for row in await cursor.fetchall()}

    async def daily(self, first: date, last: date) -> list[DailyRow]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT day, metric, dimension, amount FROM analytics_daily"
                " WHERE day BETWEEN %s AND %s AND amount <> 0 ORDER BY day, metric, dimension",
                (first, last),
            )
            return [DailyRow(*row) for row in await cursor.fetchall()]

    async def active(self, first: date, last: date) -> ActiveCounts:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT day, kind, count(*) FROM analytics_daily_active"
                " WHERE day BETWEEN %s AND %s GROUP BY day, kind",
                (first, last),
            )
            by_day: dict[date, list[int]] = defaultdict(lambda: [0, 0])
            for day, kind, count in await cursor.fetchall():
                by_day[day][0 if kind == "trip" else 1] = int(count)
            cursor = await conn.execute(
                "SELECT count(DISTINCT id) FILTER (WHERE kind = 'trip'),"
                " count(DISTINCT id) FILTER (WHERE kind = 'user')"
                " FROM analytics_daily_active WHERE day BETWEEN %s AND %s",
                (first, last),
            )
            row = await cursor.fetchone()
        trips, users = (0, 0) if row is None else (int(row[0]), int(row[1]))
        return ActiveCounts(
            by_day={day: (t, u) for day, (t, u) in by_day.items()}, trips=trips, users=users
        )
