"""The trip views projection's tables: one JSON document per trip, its members' trip-list
rows, and which trip holds each destination and activity. List and item rows are written
only when they changed.

Beside each document: the trip as the API serves it (`served`, rendered once here rather
than on every read), its members, visibility and whether it is archived, so a read decides
who may see it from a few columns."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

import orjson
from psycopg import AsyncConnection, sql

from infra.postgres.projections.names import Generation
from projections.engine.ports import Change
from projections.trip_views import TRIP_VIEWS, trip_list_entries
from read_side.documents import TripDocument, TripListEntry
from read_side.served import served_trip

_LIST_FIELDS = ("role", "title", "start_date", "end_date", "status")


class TripViewTables:
    projection = TRIP_VIEWS.name
    tables = ("trip_views", "user_trips", "trip_items")

    def create(self, gen: Generation) -> list[sql.Composed]:
        return [
            sql.SQL(
                "CREATE TABLE {} (trip_id uuid PRIMARY KEY, version integer NOT NULL,"
                " view jsonb NOT NULL, updated_at timestamptz NOT NULL, served text,"
                " members jsonb, visibility text, archived boolean)"
            ).format(gen.table("trip_views")),
            sql.SQL(
                "CREATE TABLE {} (user_id uuid NOT NULL, trip_id uuid NOT NULL, role text NOT NULL,"
                " title text NOT NULL, start_date date NOT NULL, end_date date NOT NULL,"
                " status text NOT NULL, PRIMARY KEY (user_id, trip_id))"
            ).format(gen.table("user_trips")),
            sql.SQL("CREATE TABLE {} (item_id uuid PRIMARY KEY, trip_id uuid NOT NULL)").format(
                gen.table("trip_items")
            ),
        ]

    def indexes(self, gen: Generation) -> list[sql.Composed]:
        lists, items = gen.table("user_trips"), gen.table("trip_items")
        return [
            sql.SQL("CREATE INDEX ON {} (user_id, start_date, trip_id)").format(lists),
            sql.SQL("CREATE INDEX ON {} (user_id, status, start_date, trip_id)").format(lists),
            sql.SQL("CREATE INDEX ON {} (trip_id)").format(lists),
            sql.SQL("CREATE INDEX ON {} (trip_id)").format(items),
        ]

    async def load(
        self, conn: AsyncConnection, gen: Generation, ids: list[UUID]
    ) -> dict[UUID, TripDocument]:
        if not ids:
            return {}
        cursor = await conn.execute(
            sql.SQL("SELECT trip_id, view FROM {} WHERE trip_id = ANY(%b)").format(
                gen.table("trip_views")
            ),
            (ids,),
        )
        return {row[0]: row[1] for row in await cursor.fetchall()}

    async def save(
        self, conn: AsyncConnection, gen: Generation, changes: Mapping[UUID, Change[TripDocument]]
    ) -> None:
        await self._save_views(conn, gen, changes)
        await self._save_lists(conn, gen, changes)
        await self._save_items(conn, gen, changes)

    async def forget(self, conn: AsyncConnection, gen: Generation, aggregate_id: UUID) -> None:
        for table in self.tables:
            await conn.execute(
                sql.SQL("DELETE FROM {} WHERE trip_id = %s").format(gen.table(table)),
                (aggregate_id,),
            )

    async def _save_views(
        self, conn: AsyncConnection, gen: Generation, changes: Mapping[UUID, Change[TripDocument]]
    ) -> None:
        stored = [(trip_id, c.state) for trip_id, c in changes.items() if c.state is not None]
        gone = [trip_id for trip_id, c in changes.items() if c.state is None]
        views = gen.table("trip_views")
        if stored:
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {} (trip_id, version, view, updated_at, served, members,"
                    " visibility, archived)"
                    " SELECT id, v, doc::jsonb, at::timestamptz, served, members::jsonb,"
                    " visibility, archived"
                    " FROM unnest(%b::uuid[], %b::int[], %b::text[], %b::text[], %b::text[],"
                    " %b::text[], %b::text[], %b::boolean[])"
                    " AS t(id, v, doc, at, served, members, visibility, archived)"
                    " ON CONFLICT (trip_id) DO UPDATE SET version = excluded.version,"
                    " view = excluded.view, updated_at = excluded.updated_at,"
                    " served = excluded.served, members = excluded.members,"
                    " visibility = excluded.visibility, archived = excluded.archived"
                ).format(views),
                (
                    [trip_id for trip_id, _ in stored],
                    [doc["version"] for _, doc in stored],
                    [orjson.dumps(doc).decode() for _, doc in stored],
                    [doc["updated_at"] for _, doc in stored],
                    [served_trip(doc) for _, doc in stored],
                    [orjson.dumps(doc["members"]).decode() for _, doc in stored],
                    [doc["visibility"] for _, doc in stored],
                    [doc["archived"] for _, doc in stored],
                ),
            )
        if gone:
            await conn.execute(
                sql.SQL("DELETE FROM {} WHERE trip_id = ANY(%b)").format(views), (gone,)
            )

    async def _save_lists(
        self, conn: AsyncConnection, gen: Generation, changes: Mapping[UUID, Change[TripDocument]]
    ) -> None:
        removed: list[tuple[str, str]] = []
        written: list[TripListEntry] = []
        for change in changes.values():
            before = {_key(e): e for e in trip_list_entries(change.before)}
            after = {_key(e): e for e in trip_list_entries(change.state)}
            removed.extend(key for key in before if key not in after)
            written.extend(e for key, e in after.items() if _listed(before.get(key)) != _listed(e))
        lists = gen.table("user_trips")
        if removed:
            await conn.execute(
                sql.SQL(
                    "DELETE FROM {} WHERE (user_id, trip_id) IN"
                    " (SELECT * FROM unnest(%b::uuid[], %b::uuid[]))"
                ).format(lists),
                ([user for user, _ in removed], [trip for _, trip in removed]),
            )
        if written:
            columns = [[e["user_id"] for e in written], [e["trip_id"] for e in written]]
            columns += [[e[field] for e in written] for field in _LIST_FIELDS]  # type: ignore[literal-required]
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {} (user_id, trip_id, role, title, start_date, end_date, status)"
                    " SELECT * FROM unnest(%b::uuid[], %b::uuid[], %b::text[], %b::text[],"
                    " %b::date[], %b::date[], %b::text[])"
                    " ON CONFLICT (user_id, trip_id) DO UPDATE SET role = excluded.role,"
                    " title = excluded.title, start_date = excluded.start_date,"
                    " end_date = excluded.end_date, status = excluded.status"
                ).format(lists),
                columns,
            )

    async def _save_items(
        self, conn: AsyncConnection, gen: Generation, changes: Mapping[UUID, Change[TripDocument]]
    ) -> None:
        removed: list[str] = []
        added: dict[str, UUID] = {}
        for trip_id, change in changes.items():
            before, after = _items(change.before), _items(change.state)
            removed.extend(before - after)
            added.update((item, trip_id) for item in after - before)
        items = gen.table("trip_items")
        if removed:
            await conn.execute(
                sql.SQL("DELETE FROM {} WHERE item_id = ANY(%b::uuid[])").format(items), (removed,)
            )
        if added:
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {} (item_id, trip_id)"
                    " SELECT * FROM unnest(%b::uuid[], %b::uuid[])"
                    " ON CONFLICT (item_id) DO UPDATE SET trip_id = excluded.trip_id"
                ).format(items),
                (list(added), list(added.values())),
            )


def _key(entry: TripListEntry) -> tuple[str, str]:
    return entry["user_id"], entry["trip_id"]


def _listed(entry: TripListEntry | None) -> tuple[str, ...] | None:
    return None if entry is None else tuple(entry[f] for f in _LIST_FIELDS)  # type: ignore[literal-required]


def _items(document: TripDocument | None) -> set[str]:
    """The ids of the trip's destinations and activities."""
    if document is None:
        return set()
    found = set()
    for destination in document["destinations"]:
        found.add(destination["id"])
        found.update(activity["id"] for activity in destination["activities"])
    return found
