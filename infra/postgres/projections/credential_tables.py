"""The credentials projection's table: one row per user whose tokens were cut off."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from psycopg import AsyncConnection, sql

from infra.postgres.projections.names import Generation
from projections.credentials import CREDENTIALS
from projections.engine.ports import Change
from read_side.documents import CredentialsDocument

TABLE = "credential_cutoffs"


class CredentialTables:
    projection = CREDENTIALS.name
    tables = (TABLE,)

    def create(self, gen: Generation) -> list[sql.Composed]:
        return [
            sql.SQL(
                "CREATE TABLE {} (user_id uuid PRIMARY KEY, version integer NOT NULL,"
                " revoked_before double precision NOT NULL)"
            ).format(gen.table(TABLE)),
            # Processes that keep tokens found unrevoked ask again (migration 014).
            sql.SQL(
                "CREATE TRIGGER {} AFTER INSERT OR UPDATE ON {}"
                " FOR EACH STATEMENT EXECUTE FUNCTION itinera_revocation_notice()"
            ).format(sql.Identifier(f"{gen.name_of(TABLE)}_notice"), gen.table(TABLE)),
        ]

    def indexes(self, gen: Generation) -> list[sql.Composed]:
        return []

    async def load(
        self, conn: AsyncConnection, gen: Generation, ids: list[UUID]
    ) -> dict[UUID, CredentialsDocument]:
        if not ids:
            return {}
        cursor = await conn.execute(
            sql.SQL(
                "SELECT user_id, version, revoked_before FROM {} WHERE user_id = ANY(%b)"
            ).format(gen.table(TABLE)),
            (ids,),
        )
        return {
            user_id: CredentialsDocument(id=str(user_id), version=version, revoked_before=before)
            for user_id, version, before in await cursor.fetchall()
        }

    async def save(
        self,
        conn: AsyncConnection,
        gen: Generation,
        changes: Mapping[UUID, Change[CredentialsDocument]],
    ) -> None:
        stored = [c.state for c in changes.values() if c.state is not None]
        gone = [user_id for user_id, c in changes.items() if c.state is None]
        table = gen.table(TABLE)
        if stored:
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {} (user_id, version, revoked_before)"
                    " SELECT * FROM unnest(%b::uuid[], %b::int[], %b::float8[])"
                    " ON CONFLICT (user_id) DO UPDATE"
                    " SET version = excluded.version, revoked_before = excluded.revoked_before"
                ).format(table),
                (
                    [UUID(s["id"]) for s in stored],
                    [s["version"] for s in stored],
                    [s["revoked_before"] for s in stored],
                ),
            )
        if gone:
            await conn.execute(
                sql.SQL("DELETE FROM {} WHERE user_id = ANY(%b)").format(table), (gone,)
            )

    async def forget(self, conn: AsyncConnection, gen: Generation, aggregate_id: UUID) -> None:
        await conn.execute(
            sql.SQL("DELETE FROM {} WHERE user_id = %s").format(gen.table(TABLE)), (aggregate_id,)
        )
