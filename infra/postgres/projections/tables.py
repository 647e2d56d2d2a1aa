"""What each projection's adapter provides: the SQL of its own tables. The engine's tables
(tracking and dead letters) are the same for every projection and are defined here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeVar
from uuid import UUID

from psycopg import AsyncConnection, sql

from infra.postgres.projections.names import Generation, dead_letters_table, tracking_table
from projections.engine.ports import Change

S = TypeVar("S")


class StateTables(Protocol[S]):
    """One projection's read-model tables, in any generation (live or shadow)."""

    @property
    def projection(self) -> str: ...

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables it owns (their live names)."""
        ...

    def create(self, gen: Generation) -> list[sql.Composed]:
        """The tables, with their primary keys only (a rebuild fills them first)."""
        ...

    def indexes(self, gen: Generation) -> list[sql.Composed]:
        """Their secondary indexes (a rebuild creates them once the tables are filled)."""
        ...

    async def load(
        self, conn: AsyncConnection, gen: Generation, ids: list[UUID]
    ) -> dict[UUID, S]: ...

    async def save(
        self, conn: AsyncConnection, gen: Generation, changes: Mapping[UUID, Change[S]]
    ) -> None:
        """Store each new state (None: the aggregate has none); write only what changed."""
        ...

    async def forget(self, conn: AsyncConnection, gen: Generation, aggregate_id: UUID) -> None: ...


async def save_documents(
    conn: AsyncConnection,
    table: sql.Identifier,
    key: str,
    columns: Mapping[str, str],
    changes: Mapping[UUID, Change[Any]],
) -> None:
    """One row per aggregate, from its document: upserted in one statement (a column array
    each, `columns` naming each column's type; the key is the document's `id`), and the rows
    of aggregates left without state deleted."""
    stored = [c.state for c in changes.values() if c.state is not None]
    gone = [aggregate_id for aggregate_id, c in changes.items() if c.state is None]
    if stored:
        arrays = sql.SQL(", ").join(
            sql.SQL("%b::{}[]").format(sql.SQL(kind)) for kind in ("uuid", *columns.values())
        )
        names = sql.SQL(", ").join(map(sql.Identifier, (key, *columns)))
        updates = sql.SQL(", ").join(
            sql.SQL("{} = excluded.{}").format(sql.Identifier(c), sql.Identifier(c))
            for c in columns
        )
        await conn.execute(
            sql.SQL(
                "INSERT INTO {} ({}) SELECT * FROM unnest({}) ON CONFLICT ({}) DO UPDATE SET {}"
            ).format(table, names, arrays, sql.Identifier(key), updates),
            [[s["id"] for s in stored]] + [[s[c] for s in stored] for c in columns],
        )
    if gone:
        await conn.execute(
            sql.SQL("DELETE FROM {} WHERE {} = ANY(%b)").format(table, sql.Identifier(key)),
            (gone,),
        )


def engine_tables(projection: str) -> tuple[str, ...]:
    return (tracking_table(projection), dead_letters_table(projection))


def create_engine_tables(projection: str, gen: Generation) -> list[sql.Composed]:
    tracking = gen.table(tracking_table(projection))
    letters = gen.table(dead_letters_table(projection))
    return [
        sql.SQL(
            "CREATE TABLE {} (aggregate_id uuid PRIMARY KEY, version integer NOT NULL,"
            " parked boolean NOT NULL DEFAULT false)"
        ).format(tracking),
        sql.SQL(
            "CREATE TABLE {} ("
            " id bigint PRIMARY KEY DEFAULT nextval('projection_dead_letter_ids'),"
            " aggregate_id uuid NOT NULL, aggregate_version integer, event_type text NOT NULL,"
            " payload bytea NOT NULL, error text NOT NULL, attempts integer NOT NULL,"
            " failed boolean NOT NULL, parked_at timestamptz NOT NULL DEFAULT now(),"
            " UNIQUE (aggregate_id, aggregate_version))"
        ).format(letters),
    ]


def engine_indexes(projection: str, gen: Generation) -> list[sql.Composed]:
    tracking = gen.table(tracking_table(projection))
    return [sql.SQL("CREATE INDEX ON {} (aggregate_id) WHERE parked").format(tracking)]
