"""The user directory projection's table: one row per user, searchable by name prefix."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from infra.postgres.projections.names import Generation
from infra.postgres.projections.tables import save_documents
from projections.engine.ports import Change
from projections.user_directory import USER_DIRECTORY
from read_side.documents import UserDocument

_COLUMNS = ("version", "username", "first_name", "last_name", "bio", "avatar_url", "is_active")
_TYPES = ("int", "text", "text", "text", "text", "text", "boolean")


class UserDirectoryTables:
    projection = USER_DIRECTORY.name
    tables = ("user_directory",)

    def create(self, gen: Generation) -> list[sql.Composed]:
        return [
            sql.SQL(
                "CREATE TABLE {} (user_id uuid PRIMARY KEY, version integer NOT NULL,"
                " username text NOT NULL, first_name text NOT NULL, last_name text NOT NULL,"
                " bio text NOT NULL, avatar_url text NOT NULL, is_active boolean NOT NULL)"
            ).format(gen.table("user_directory"))
        ]

    def indexes(self, gen: Generation) -> list[sql.Composed]:
        # Prefix search on lower-cased names (text_pattern_ops serves LIKE 'abc%'); pages in
        # username order.
        table = gen.table("user_directory")
        return [
            sql.SQL("CREATE INDEX ON {} (lower({}) text_pattern_ops)").format(
                table, sql.Identifier(column)
            )
            for column in ("username", "first_name", "last_name")
        ] + [sql.SQL("CREATE INDEX ON {} (lower(username), user_id)").format(table)]

    async def load(
        self, conn: AsyncConnection, gen: Generation, ids: list[UUID]
    ) -> dict[UUID, UserDocument]:
        if not ids:
            return {}
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(
            sql.SQL("SELECT user_id, {} FROM {} WHERE user_id = ANY(%b)").format(
                sql.SQL(", ").join(map(sql.Identifier, _COLUMNS)), gen.table("user_directory")
            ),
            (ids,),
        )
        found: dict[UUID, UserDocument] = {}
        for row in await cursor.fetchall():
            found[row["user_id"]] = UserDocument(
                id=str(row["user_id"]),
                version=row["version"],
                username=row["username"],
                first_name=row["first_name"],
                last_name=row["last_name"],
                bio=row["bio"],
                avatar_url=row["avatar_url"],
                is_active=row["is_active"],
            )
        return found

    async def save(
        self, conn: AsyncConnection, gen: Generation, changes: Mapping[UUID, Change[UserDocument]]
    ) -> None:
        await save_documents(
            conn,
            gen.table("user_directory"),
            "user_id",
            dict(zip(_COLUMNS, _TYPES, strict=True)),
            changes,
        )

    async def forget(self, conn: AsyncConnection, gen: Generation, aggregate_id: UUID) -> None:
        await conn.execute(
            sql.SQL("DELETE FROM {} WHERE user_id = %s").format(gen.table("user_directory")),
            (aggregate_id,),
        )
