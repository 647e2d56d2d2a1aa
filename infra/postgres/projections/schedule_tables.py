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
                " WHERE trip_id = ANY(%b)"
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
        """Only what changed is written: most of a trip's events (a new title, a member)
        change none of its activities. A trip whose stored rows are not known (no state
        before) has them replaced."""
        table = gen.table(TABLE)
        replaced = [
            t for t, change in changes.items() if change.before is None or change.state is None
        ]
        gone: list[UUID] = []
        rows: list[tuple[UUID, UUID, UUID, str, str | None]] = []
        for trip_id, change in changes.items():
            if change.state is None:
                continue
            now = change.state["activities"]
            then = change.before["activities"] if change.before is not None else {}
            gone += [UUID(activity_id) for activity_id in then.keys() - now.keys()]
            rows += [
                (UUID(activity_id), trip_id, UUID(a["destination_id"]), a["title"], a["starts_at"])
                for activity_id, a in now.items()
                if then.get(activity_id) != a
            ]
        if replaced:
            await conn.execute(
                sql.SQL("DELETE FROM {} WHERE trip_id = ANY(%b)").format(table), (replaced,)
            )
        if gone:
            await conn.execute(
                sql.SQL("DELETE FROM {} WHERE activity_id = ANY(%b)").format(table), (gone,)
            )
        if rows:
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {} (activity_id, trip_id, destination_id, title, starts_at)"
                    " SELECT a, t, d, title, starts::timestamptz FROM unnest(%b::uuid[],"
                    " %b::uuid[], %b::uuid[], %b::text[], %b::text[]) AS r(a, t, d, title, starts)"
                    " ON CONFLICT (activity_id) DO UPDATE SET trip_id = excluded.trip_id,"
                    " destination_id = excluded.destination_id, title = excluded.title,"
                    " starts_at = excluded.starts_at"
                ).format(table),
                tuple(list(column) for column in zip(*rows, strict=True)),
            )

    async def forget(self, conn: AsyncConnection, gen: Generation, aggregate_id: UUID) -> None:
        await conn.execute(
            sql.SQL("DELETE FROM {} WHERE trip_id = %s").format(gen.table(TABLE)), (aggregate_id,)
        )
