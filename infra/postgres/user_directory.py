"""The user directory read model on PostgreSQL."""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from read_side.cursors import decode_cursor, encode_cursor
from read_side.errors import InvalidCursorError
from read_side.users import UserProfilePage, UserProfileView

_COLUMNS = "user_id AS id, version, username, first_name, last_name, bio, avatar_url, is_active"


def _encode_cursor(profile: UserProfileView) -> str:
    return encode_cursor(profile.username.lower(), str(profile.id))


def _decode_cursor(cursor: str) -> tuple[str, UUID]:
    username, user_id = decode_cursor(cursor, 2)
    try:
        return username, UUID(user_id)
    except ValueError as error:
        raise InvalidCursorError("Malformed cursor") from error


def _like_prefix(prefix: str) -> str:
    escaped = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


class PostgresUserDirectory:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def get_user(self, user_id: UUID) -> UserProfileView | None:
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(
                f"SELECT {_COLUMNS} FROM user_directory WHERE user_id = %s", (user_id,)
            )
            row = await cursor.fetchone()
        return None if row is None else UserProfileView.model_validate(row)

    async def usernames(self, user_ids: Collection[UUID]) -> dict[UUID, str]:
        if not user_ids:
            return {}
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT user_id, username FROM user_directory WHERE user_id = ANY(%s)",
                (list(user_ids),),
            )
            return {row[0]: row[1] for row in await cursor.fetchall()}

    async def profiles(self, user_ids: Collection[UUID]) -> dict[UUID, UserProfileView]:
        if not user_ids:
            return {}
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(
                f"SELECT {_COLUMNS} FROM user_directory WHERE user_id = ANY(%s)",
                (list(user_ids),),
            )
            rows = await cursor.fetchall()
        return {row["id"]: UserProfileView.model_validate(row) for row in rows}

    async def search_users(self, prefix: str, limit: int, after: str | None) -> UserProfilePage:
        after_name, after_id = _decode_cursor(after) if after else ("", UUID(int=0))
        pattern = _like_prefix(prefix)
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(
                f"SELECT {_COLUMNS} FROM user_directory"
                " WHERE is_active AND (lower(username) LIKE %(p)s"
                " OR lower(first_name) LIKE %(p)s OR lower(last_name) LIKE %(p)s)"
                " AND (lower(username), user_id) > (%(name)s, %(id)s)"
                " ORDER BY lower(username), user_id LIMIT %(limit)s",
                {"p": pattern, "name": after_name, "id": after_id, "limit": limit + 1},
            )
            rows = await cursor.fetchall()
        items = tuple(UserProfileView.model_validate(row) for row in rows[:limit])
        return UserProfilePage(
            items=items, next_cursor=_encode_cursor(items[-1]) if len(rows) > limit else None
        )
