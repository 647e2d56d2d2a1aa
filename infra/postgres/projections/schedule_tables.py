"""The activity schedule projection's table: one row per activity, found by start instant."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from infra.postgres.projections.names import Generation
from projections.activity_schedule import ACTIVITY_SCHEDULE, Schedule, Scheduled
from projections.engine.ports import Change

TABLE = "activity_schedule"


class ScheduleTables:
    projection = ACTIVITY_SCHEDULE.name
    tables = (TABLE,)

    def create(self, gen: Generation) -> list[sql.Composed]:
        return [
            sql.SQL(
                "CREATE TABLE {} (activity_id uuid PRIMARY KEY, trip_id uuid NOT NULL,"
                " destination_id uuid NOT NULL, title text NOT NULL, starts_at timestamptz)"
            ).format(gen.table(TABLE))
        ]

    def indexes(self, gen: Generation) -> list[sql.Composed]:
        table = gen.table(TABLE)
        return [
            sql.SQL("CREATE INDEX ON {} (starts_at) WHERE starts_at IS NOT NULL").format(table),
            sql.SQL("CREATE INDEX ON {} (trip_id)").format(table),
        ]

    async def load(
        self, conn: AsyncConnection, gen: Generation, ids: list[UUID]
    ) -> dict[UUID, Schedule]:
        if not ids:
            return {}
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(
            sql.SQL(
                "SELECT activity_id, trip_id, destination_id, title, starts_at FROM {}"
                " WHERE trip_id = ANY(%s)"
            ).format(gen.table(TABLE)),
            (ids,),
        )
        found: dict[UUID, Schedule] = {}
        for row in await cursor.fetchall():
            schedule = found.setdefault(row["trip_id"], Schedule(activities={}))
            starts = row["starts_at"]
            schedule["activities"][str(row["activity_id"])] = Scheduled(
                title=row["title"],
                destination_id=str(row["destination_id"]),
                starts_at=None if starts is None else starts.isoformat(),
            )
        return found

    async def save(
        self, conn: AsyncConnection, gen: Generation, changes: Mapping[UUID, Change[Schedule]]
    ) -> None:
        table = gen.table(TABLE)
        await conn.execute(
            sql.SQL("DELETE FROM {} WHERE trip_id = ANY(%s)").format(table), (list(changes),)
        )
        rows = [
            (UUID(activity_id), trip_id, UUID(a["destination_id"]), a["title"], a["starts_at"])
            for trip_id, change in changes.items()
            if change.state is not None
            for activity_id, a in change.state["activities"].items()
        ]
        if rows:
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    sql.SQL(
                        "INSERT INTO {} (activity_id, trip_id, destination_id, title, starts_at)"
                        " VALUES (%s, %s, %s, %s, %s)"
                    ).format(table),
                    rows,
                )

    async def forget(self, conn: AsyncConnection, gen: Generation, aggregate_id: UUID) -> None:
        await conn.execute(
            sql.SQL("DELETE FROM {} WHERE trip_id = %s").format(gen.table(TABLE)), (aggregate_id,)
        )
