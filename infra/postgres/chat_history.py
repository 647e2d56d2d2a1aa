"""The chat history read model on PostgreSQL (the table `chat_tables` writes)."""

from __future__ import annotations

from uuid import UUID

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from infra.postgres.projections.chat_tables import TABLE, document_of
from read_side.chat import MessagePage

_COLUMNS = (
    "message_id, trip_id, seq, version, sender_id, content, message_type, reply_to,"
    " is_edited, created_at, updated_at"
)


class PostgresChatHistory:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def newest_seq(self, trip_id: UUID) -> int:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT max(seq) FROM {TABLE} WHERE trip_id = %s", (trip_id,)
            )
            row = await cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    async def before(self, trip_id: UUID, seq: int | None, limit: int) -> MessagePage:
        page = await self._rows(
            f"SELECT {_COLUMNS} FROM {TABLE} WHERE trip_id = %s AND seq < %s"
            " ORDER BY seq DESC LIMIT %s",
            (trip_id, 2**31 - 1 if seq is None else seq, limit + 1),
            limit,
        )
        return MessagePage(page.messages[::-1], page.has_more)

    async def after(self, trip_id: UUID, seq: int, limit: int) -> MessagePage:
        return await self._rows(
            f"SELECT {_COLUMNS} FROM {TABLE} WHERE trip_id = %s AND seq > %s ORDER BY seq LIMIT %s",
            (trip_id, seq, limit + 1),
            limit,
        )

    async def seq_of(self, trip_id: UUID, message_id: UUID) -> int | None:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT seq FROM {TABLE} WHERE message_id = %s AND trip_id = %s",
                (message_id, trip_id),
            )
            row = await cursor.fetchone()
        return None if row is None else int(row[0])

    async def _rows(self, query: str, params: tuple[object, ...], limit: int) -> MessagePage:
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(query, params)
            rows = await cursor.fetchall()
        return MessagePage([document_of(row) for row in rows[:limit]], len(rows) > limit)
