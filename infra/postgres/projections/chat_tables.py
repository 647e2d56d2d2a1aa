"""The chat history projection's table: one row per message, read by room and sequence."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from infra.postgres.projections.names import Generation
from infra.postgres.projections.tables import save_documents
from projections.chat_history import CHAT_HISTORY
from projections.engine.ports import Change
from read_side.documents import MessageDocument

TABLE = "chat_messages"
_COLUMNS = (
    "trip_id",
    "seq",
    "version",
    "sender_id",
    "content",
    "message_type",
    "reply_to",
    "is_edited",
    "created_at",
    "updated_at",
)
_TYPES = (
    "uuid",
    "int",
    "int",
    "uuid",
    "text",
    "text",
    "uuid",
    "boolean",
    "timestamptz",
    "timestamptz",
)


class ChatTables:
    projection = CHAT_HISTORY.name
    tables = (TABLE,)

    def create(self, gen: Generation) -> list[sql.Composed]:
        return [
            sql.SQL(
                "CREATE TABLE {} (message_id uuid PRIMARY KEY, trip_id uuid NOT NULL,"
                " seq integer NOT NULL, version integer NOT NULL, sender_id uuid NOT NULL,"
                " content text NOT NULL, message_type text NOT NULL, reply_to uuid,"
                " is_edited boolean NOT NULL, created_at timestamptz NOT NULL,"
                " updated_at timestamptz NOT NULL)"
            ).format(gen.table(TABLE))
        ]

    def indexes(self, gen: Generation) -> list[sql.Composed]:
        # A room's history, either way from a sequence; a sender's messages (the seed's).
        table = gen.table(TABLE)
        return [
            sql.SQL("CREATE UNIQUE INDEX ON {} (trip_id, seq)").format(table),
            sql.SQL("CREATE INDEX ON {} (sender_id)").format(table),
        ]

    async def load(
        self, conn: AsyncConnection, gen: Generation, ids: list[UUID]
    ) -> dict[UUID, MessageDocument]:
        if not ids:
            return {}
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(
            sql.SQL("SELECT message_id, {} FROM {} WHERE message_id = ANY(%b)").format(
                sql.SQL(", ").join(map(sql.Identifier, _COLUMNS)), gen.table(TABLE)
            ),
            (ids,),
        )
        return {row["message_id"]: document_of(row) for row in await cursor.fetchall()}

    async def save(
        self,
        conn: AsyncConnection,
        gen: Generation,
        changes: Mapping[UUID, Change[MessageDocument]],
    ) -> None:
        columns = dict(zip(_COLUMNS, _TYPES, strict=True))
        await save_documents(conn, gen.table(TABLE), "message_id", columns, changes)

    async def forget(self, conn: AsyncConnection, gen: Generation, aggregate_id: UUID) -> None:
        await conn.execute(
            sql.SQL("DELETE FROM {} WHERE message_id = %s").format(gen.table(TABLE)),
            (aggregate_id,),
        )


def document_of(row: Mapping[str, object]) -> MessageDocument:
    """A stored row (`message_id` and the columns above) as a message document."""
    reply_to = row["reply_to"]
    return MessageDocument(
        id=str(row["message_id"]),
        trip_id=str(row["trip_id"]),
        seq=int(row["seq"]),  # type: ignore[call-overload]
        version=int(row["version"]),  # type: ignore[call-overload]
        sender_id=str(row["sender_id"]),
        content=str(row["content"]),
        message_type=str(row["message_type"]),
        reply_to=None if reply_to is None else str(reply_to),
        is_edited=bool(row["is_edited"]),
        created_at=row["created_at"].isoformat(),  # type: ignore[attr-defined]
        updated_at=row["updated_at"].isoformat(),  # type: ignore[attr-defined]
    )
