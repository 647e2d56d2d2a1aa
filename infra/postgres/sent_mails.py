"""Which events' mails were sent (table `sent_mails`): each record is its own transaction,
committed right after the mailer accepted, not with the projection's batch, so the window
in which a crash sends a mail twice is as short as it can be."""

from __future__ import annotations

from uuid import UUID

from psycopg_pool import AsyncConnectionPool


class PostgresSentMails:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def was_sent(self, key: UUID) -> bool:
        async with self._pool.connection() as conn:
            cursor = await conn.execute("SELECT 1 FROM sent_mails WHERE event_id = %s", (key,))
            return await cursor.fetchone() is not None

    async def record(self, key: UUID, message_id: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO sent_mails (event_id, message_id) VALUES (%s, %s) "
                "ON CONFLICT (event_id) DO NOTHING",
                (key, message_id),
            )
