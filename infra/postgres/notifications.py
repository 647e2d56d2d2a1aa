"""The notifications read model on PostgreSQL (the table `notification_tables` writes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from infra.postgres.projections.names import tracking_table
from infra.postgres.projections.notification_tables import TABLE
from projections.notifications import NOTIFICATIONS
from read_side.cursors import decode_cursor, encode_cursor
from read_side.errors import InvalidCursorError
from read_side.notifications import NotificationPage, NotificationView

_COLUMNS = (
    "notification_id AS id, type, title, message, related_trip, related_user, is_read, count,"
    " created_at, updated_at"
)


class PostgresNotifications:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def page(
        self,
        user_id: UUID,
        *,
        is_read: bool | None,
        kind: str | None,
        limit: int,
        cursor: str | None,
    ) -> NotificationPage:
        where = ["user_id = %(user)s"]
        params: dict[str, Any] = {"user": user_id, "limit": limit + 1}
        if is_read is not None:
            where.append("is_read = %(is_read)s")
            params["is_read"] = is_read
        if kind is not None:
            where.append("type = %(kind)s")
            params["kind"] = kind
        if cursor is not None:
            params["at"], params["after_id"] = _decoded(cursor)
            where.append("(updated_at, notification_id) < (%(at)s, %(after_id)s)")
        query = (
            f"SELECT {_COLUMNS} FROM {TABLE} WHERE {' AND '.join(where)}"
            " ORDER BY updated_at DESC, notification_id DESC LIMIT %(limit)s"
        )
        async with self._pool.connection() as conn:
            rows = await (await conn.cursor(row_factory=dict_row).execute(query, params)).fetchall()
            counted = await conn.execute(
                f"SELECT count(*) FROM {TABLE} WHERE user_id = %s AND NOT is_read", (user_id,)
            )
            unread = (await counted.fetchone() or (0,))[0]
        items = [NotificationView.model_validate(row) for row in rows[:limit]]
        more = len(rows) > limit
        last = items[-1] if items else None
        next_cursor = (
            encode_cursor(last.updated_at.isoformat(), str(last.id)) if more and last else None
        )
        return NotificationPage(items, next_cursor, int(unread))

    async def get(self, user_id: UUID, notification_id: UUID) -> NotificationView | None:
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(
                f"SELECT {_COLUMNS} FROM {TABLE} WHERE notification_id = %s AND user_id = %s",
                (notification_id, user_id),
            )
            row = await cursor.fetchone()
        return None if row is None else NotificationView.model_validate(row)

    async def unread_messages(self, user_id: UUID, trip_id: UUID) -> int:
        async with self._pool.connection() as conn:
            found = await conn.execute(
                f"SELECT count FROM {TABLE} WHERE user_id = %s AND type = 'message'"
                " AND related_trip = %s AND NOT is_read",
                (user_id, trip_id),
            )
            row = await found.fetchone()
        return 0 if row is None else int(row[0])

    async def applied(self, inbox_id: UUID) -> int:
        async with self._pool.connection() as conn:
            found = await conn.execute(
                sql.SQL("SELECT version FROM {} WHERE aggregate_id = %s").format(
                    sql.Identifier(tracking_table(NOTIFICATIONS.name))
                ),
                (inbox_id,),
            )
            row = await found.fetchone()
        return 0 if row is None else int(row[0])


def _decoded(cursor: str) -> tuple[datetime, UUID]:
    at, notification_id = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(at), UUID(notification_id)
    except ValueError as error:
        raise InvalidCursorError("Malformed cursor") from error
