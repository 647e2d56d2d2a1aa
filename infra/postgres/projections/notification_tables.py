"""The notifications projection's table: one row per notification, read newest first."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from psycopg import AsyncConnection, sql

from infra.postgres.projections.names import Generation
from projections.engine.ports import Change
from projections.notifications import NOTIFICATIONS, NotificationOps

TABLE = "notifications"


class NotificationTables:
    projection = NOTIFICATIONS.name
    tables = (TABLE,)

    def create(self, gen: Generation) -> list[sql.Composed]:
        return [
            sql.SQL(
                "CREATE TABLE {} (notification_id uuid PRIMARY KEY, user_id uuid NOT NULL,"
                " type text NOT NULL, title text NOT NULL, message text NOT NULL,"
                " related_trip uuid, related_user uuid, count integer NOT NULL,"
                " is_read boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL,"
                " updated_at timestamptz NOT NULL)"
            ).format(gen.table(TABLE))
        ]

    def indexes(self, gen: Generation) -> list[sql.Composed]:
        # The seed's two: a user's list (newest first, by read state) and by type.
        table = gen.table(TABLE)
        return [
            sql.SQL("CREATE INDEX ON {} (user_id, is_read, updated_at DESC)").format(table),
            sql.SQL("CREATE INDEX ON {} (user_id, type)").format(table),
            sql.SQL("CREATE INDEX ON {} (user_id, updated_at DESC, notification_id)").format(table),
        ]

    async def load(
        self, conn: AsyncConnection, gen: Generation, ids: list[UUID]
    ) -> dict[UUID, NotificationOps]:
        return {}  # nothing to fold into: each event says the whole change

    async def save(
        self,
        conn: AsyncConnection,
        gen: Generation,
        changes: Mapping[UUID, Change[NotificationOps]],
    ) -> None:
        table = gen.table(TABLE)
        for change in changes.values():
            for op in change.state["ops"] if change.state else ():
                await _apply(conn, table, op)

    async def forget(self, conn: AsyncConnection, gen: Generation, aggregate_id: UUID) -> None:
        return None  # an inbox's rows are found by user, and rewritten by its events


async def _apply(conn: AsyncConnection, table: sql.Identifier, op: list[object]) -> None:
    kind = op[0]
    if kind == "add":
        row = op[1]
        assert isinstance(row, dict)
        await conn.execute(
            sql.SQL(
                "INSERT INTO {} (notification_id, user_id, type, title, message, related_trip,"
                " related_user, count, created_at, updated_at) VALUES (%(id)s, %(user_id)s,"
                " %(type)s, %(title)s, %(message)s, %(related_trip)s, %(related_user)s,"
                " %(count)s, %(created_at)s, %(updated_at)s) ON CONFLICT (notification_id)"
                " DO NOTHING"
            ).format(table),
            row,
        )
    elif kind == "count":
        await conn.execute(
            sql.SQL(
                "UPDATE {} SET count = %s, message = %s, updated_at = %s WHERE notification_id = %s"
            ).format(table),
            (op[2], op[3], op[4], op[1]),
        )
    elif kind == "read":
        await conn.execute(
            sql.SQL("UPDATE {} SET is_read = true WHERE notification_id = %s").format(table),
            (op[1],),
        )
    elif kind == "read_all":
        # Every row of the inbox so far: later ones are inserted by later changes, in order.
        await conn.execute(
            sql.SQL("UPDATE {} SET is_read = true WHERE user_id = %s AND NOT is_read").format(
                table
            ),
            (op[1],),
        )
    else:
        raise ValueError(f"unknown notification change {kind!r}")
