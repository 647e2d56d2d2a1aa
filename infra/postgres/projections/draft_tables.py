"""The itinerary drafts' table: one row per draft, its view as a JSON document beside the
columns drafts are found by (their trip, their status, who asked)."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from infra.postgres.projections.names import Generation
from projections.engine.ports import Change
from projections.itinerary_drafts import ITINERARY_DRAFTS, DraftView

TABLE = "itinerary_drafts"


class DraftTables:
    projection = ITINERARY_DRAFTS.name
    tables = (TABLE,)

    def create(self, gen: Generation) -> list[sql.Composed]:
        return [
            sql.SQL(
                "CREATE TABLE {} (draft_id uuid PRIMARY KEY, trip_id uuid NOT NULL,"
                " requested_by uuid NOT NULL, status text NOT NULL,"
                " requested_at timestamptz NOT NULL, document jsonb NOT NULL)"
            ).format(gen.table(TABLE))
        ]

    def indexes(self, gen: Generation) -> list[sql.Composed]:
        table = gen.table(TABLE)
        return [
            sql.SQL("CREATE INDEX ON {} (trip_id, requested_at DESC)").format(table),
            sql.SQL(
                "CREATE INDEX ON {} (requested_at) WHERE status IN ('queued', 'running')"
            ).format(table),
        ]

    async def load(
        self, conn: AsyncConnection, gen: Generation, ids: list[UUID]
    ) -> dict[UUID, DraftView]:
        if not ids:
            return {}
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(
            sql.SQL("SELECT draft_id, document FROM {} WHERE draft_id = ANY(%s)").format(
                gen.table(TABLE)
            ),
            (ids,),
        )
        return {row["draft_id"]: row["document"] for row in await cursor.fetchall()}

    async def save(
        self, conn: AsyncConnection, gen: Generation, changes: Mapping[UUID, Change[DraftView]]
    ) -> None:
        table = gen.table(TABLE)
        gone = [draft_id for draft_id, change in changes.items() if change.state is None]
        if gone:
            await conn.execute(
                sql.SQL("DELETE FROM {} WHERE draft_id = ANY(%s)").format(table), (gone,)
            )
        rows = [
            (
                draft_id,
                UUID(view["trip_id"]),
                UUID(view["requested_by"]),
                view["status"],
                view["requested_at"],
                Jsonb(view),
            )
            for draft_id, change in changes.items()
            if (view := change.state) is not None
        ]
        if rows:
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    sql.SQL(
                        "INSERT INTO {} (draft_id, trip_id, requested_by, status, requested_at,"
                        " document) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (draft_id)"
                        " DO UPDATE SET status = excluded.status, document = excluded.document"
                    ).format(table),
                    rows,
                )

    async def forget(self, conn: AsyncConnection, gen: Generation, aggregate_id: UUID) -> None:
        await conn.execute(
            sql.SQL("DELETE FROM {} WHERE draft_id = %s").format(gen.table(TABLE)), (aggregate_id,)
        )
