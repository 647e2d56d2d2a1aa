"""The read store on PostgreSQL (psycopg 3, async pool)."""

from __future__ import annotations

import base64
from datetime import date
from uuid import UUID

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from read_side.errors import InvalidCursorError
from read_side.store import ANY_TRIP, TripFilter, TripViewUpdate
from read_side.views import TripSummary, TripSummaryPage, TripView


def encode_cursor(summary: TripSummary) -> str:
    raw = f"{summary.start_date.isoformat()}|{summary.trip_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[date, UUID]:
    try:
        start, trip_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return date.fromisoformat(start), UUID(trip_id)
    except ValueError as error:
        raise InvalidCursorError("Malformed cursor") from error


class PostgresTripReadStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def get_trip(self, trip_id: UUID) -> TripView | None:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT view FROM trip_views WHERE trip_id = %s", (trip_id,)
            )
            row = await cursor.fetchone()
        return None if row is None else TripView.model_validate(row[0])

    async def list_trips(
        self, user_id: UUID, limit: int, after: str | None, where: TripFilter = ANY_TRIP
    ) -> TripSummaryPage:
        start, trip_id = decode_cursor(after) if after else (date.min, UUID(int=0))
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(
                "SELECT user_id, trip_id, role, title, start_date, end_date, status, version,"
                " updated_at FROM user_trips WHERE user_id = %(user)s"
                " AND (start_date, trip_id) > (%(start)s, %(trip)s)"
                " AND (%(status)s::text IS NULL OR status = %(status)s)"
                " AND (%(role)s::text IS NULL OR role = %(role)s)"
                " AND (%(from)s::date IS NULL OR end_date >= %(from)s)"
                " AND (%(to)s::date IS NULL OR start_date <= %(to)s)"
                " ORDER BY start_date, trip_id LIMIT %(limit)s",
                {
                    "user": user_id,
                    "start": start,
                    "trip": trip_id,
                    "status": where.status,
                    "role": where.role,
                    "from": where.from_date,
                    "to": where.to_date,
                    "limit": limit + 1,
                },
            )
            rows = await cursor.fetchall()
        items = tuple(TripSummary.model_validate(row) for row in rows[:limit])
        next_cursor = encode_cursor(items[-1]) if len(rows) > limit else None
        return TripSummaryPage(items=items, next_cursor=next_cursor)

    async def trip_holding(self, entity_id: UUID) -> TripView | None:
        as_destination = {"destinations": [{"id": str(entity_id)}]}
        as_activity = {"destinations": [{"activities": [{"id": str(entity_id)}]}]}
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT view FROM trip_views WHERE view @> %s OR view @> %s LIMIT 1",
                (Jsonb(as_destination), Jsonb(as_activity)),
            )
            row = await cursor.fetchone()
        return None if row is None else TripView.model_validate(row[0])

    async def update_trip(self, trip_id: UUID, update: TripViewUpdate) -> bool:
        async with self._pool.connection() as conn, conn.transaction():
            # Serialises writers of one trip, including the first insert (no row to lock yet).
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s::text, 0))", (trip_id,)
            )
            cursor = await conn.execute(
                "SELECT view FROM trip_views WHERE trip_id = %s", (trip_id,)
            )
            row = await cursor.fetchone()
            change = update(None if row is None else TripView.model_validate(row[0]))
            if change is None:
                return False
            view = change.view
            await conn.execute(
                "INSERT INTO trip_views (trip_id, version, view, updated_at)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (trip_id) DO UPDATE"
                " SET version = excluded.version, view = excluded.view,"
                " updated_at = excluded.updated_at",
                (trip_id, view.version, Jsonb(view.model_dump(mode="json")), view.updated_at),
            )
            await conn.execute(
                "DELETE FROM user_trips WHERE trip_id = %s AND NOT (user_id = ANY(%s))",
                (trip_id, [s.user_id for s in change.summaries]),
            )
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO user_trips (user_id, trip_id, role, title, start_date, end_date,"
                    " status, version, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (user_id, trip_id) DO UPDATE SET role = excluded.role,"
                    " title = excluded.title, start_date = excluded.start_date,"
                    " end_date = excluded.end_date, status = excluded.status,"
                    " version = excluded.version,"
                    " updated_at = excluded.updated_at",
                    [
                        (
                            s.user_id,
                            s.trip_id,
                            s.role,
                            s.title,
                            s.start_date,
                            s.end_date,
                            s.status,
                            s.version,
                            s.updated_at,
                        )
                        for s in change.summaries
                    ],
                )
        return True

    async def load_position(self, name: str) -> int:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT position FROM stream_positions WHERE name = %s", (name,)
            )
            row = await cursor.fetchone()
        return 0 if row is None else int(row[0])

    async def save_position(self, name: str, position: int) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO stream_positions (name, position) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                (name, position),
            )
