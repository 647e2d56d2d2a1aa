"""The sync feed's tables: the folded state of each source aggregate, the feed itself (one
row per entity, in its latest state or as a tombstone), each trip's head and its members.

Positions are numbered per trip under a row lock on the trip's head, taken in trip order:
two batches touching one trip (the trip-events and chat-events agents) take turns, so a
trip's positions are gap-free and follow commit order. A reader that has seen position n of
a trip has seen every row committed under a lower one: a cursor of positions cannot skip.
A live batch sends `itinera_sync` (on commit: PostgreSQL delivers NOTIFY then) naming each
changed trip and its members, which pokes their notification sockets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any, cast
from uuid import UUID

import orjson
from psycopg import AsyncConnection, sql
from psycopg.types.json import Jsonb

from infra.postgres.projections.names import LIVE, Generation
from projections.engine.ports import Change
from projections.sync_feed import SYNC_FEED, FeedRow, SyncSource, feed_rows, is_trip, members

SOURCES = "sync_sources"
FEED = "sync_feed"
HEADS = "sync_heads"
MEMBERS = "sync_members"
EPOCH = "sync_epoch"
POKE_CHANNEL = "itinera_sync"
_POKE_BYTES = 7000  # under NOTIFY's 8000-byte payload


class SyncFeedTables:
    projection = SYNC_FEED.name
    tables = (SOURCES, FEED, HEADS, MEMBERS, EPOCH)

    def create(self, gen: Generation) -> list[sql.Composed]:
        return [
            sql.SQL("CREATE TABLE {} (aggregate_id uuid PRIMARY KEY, state jsonb NOT NULL)").format(
                gen.table(SOURCES)
            ),
            sql.SQL(
                "CREATE TABLE {} (entity_id uuid PRIMARY KEY, trip_id uuid NOT NULL,"
                " pos bigint NOT NULL, entity_type text NOT NULL, version integer NOT NULL,"
                " deleted boolean NOT NULL, data jsonb, changed_at timestamptz NOT NULL)"
            ).format(gen.table(FEED)),
            sql.SQL(
                "CREATE TABLE {} (trip_id uuid PRIMARY KEY, pos bigint NOT NULL,"
                " trip_version integer NOT NULL, archived boolean NOT NULL)"
            ).format(gen.table(HEADS)),
            sql.SQL(
                "CREATE TABLE {} (trip_id uuid NOT NULL, user_id uuid NOT NULL,"
                " member boolean NOT NULL, changed_at timestamptz NOT NULL,"
                " PRIMARY KEY (trip_id, user_id))"
            ).format(gen.table(MEMBERS)),
            # A feed built again numbers its positions again: cursors of the old one name
            # this epoch no more, and start over (410).
            sql.SQL("CREATE TABLE {} AS SELECT gen_random_uuid() AS epoch").format(
                gen.table(EPOCH)
            ),
        ]

    def indexes(self, gen: Generation) -> list[sql.Composed]:
        return [
            sql.SQL("CREATE UNIQUE INDEX ON {} (trip_id, pos)").format(gen.table(FEED)),
            sql.SQL("CREATE INDEX ON {} (trip_id, changed_at)").format(gen.table(FEED)),
            sql.SQL("CREATE INDEX ON {} (user_id) INCLUDE (member)").format(gen.table(MEMBERS)),
        ]

    async def load(
        self, conn: AsyncConnection, gen: Generation, ids: list[UUID]
    ) -> dict[UUID, SyncSource]:
        if not ids:
            return {}
        cursor = await conn.execute(
            sql.SQL("SELECT aggregate_id, state FROM {} WHERE aggregate_id = ANY(%b)").format(
                gen.table(SOURCES)
            ),
            (ids,),
        )
        return {row[0]: cast(SyncSource, row[1]) for row in await cursor.fetchall()}

    async def save(
        self, conn: AsyncConnection, gen: Generation, changes: Mapping[UUID, Change[SyncSource]]
    ) -> None:
        await self._save_sources(conn, gen, changes)
        rows: defaultdict[str, list[FeedRow]] = defaultdict(list)
        heads: dict[str, tuple[int, bool]] = {}  # trip → (its version, archived)
        joined: list[tuple[str, str, bool]] = []  # (trip, user, member now)
        for change in changes.values():
            for row in feed_rows(change.before, change.state):
                rows[row["trip_id"]].append(row)
            if change.state is not None and is_trip(change.state):
                trip = change.state
                heads[trip["id"]] = (trip["version"], bool(trip.get("archived")))
                now, then = members(trip), members(change.before)
                joined += [(trip["id"], user, True) for user in now - then]
                joined += [(trip["id"], user, False) for user in then - now]
        # A trip's head moves to its version even when no entity changed (a rename to the same
        # name, a move to where it was): write checkpoints wait for that version.
        trips = sorted(set(rows) | set(heads))
        if not trips:
            return
        start = await self._lock_heads(conn, gen, trips)
        await self._write_rows(conn, gen, rows, start)
        await conn.execute(
            sql.SQL(
                "UPDATE {} h SET pos = h.pos + n.added,"
                " trip_version = coalesce(n.version, h.trip_version),"
                " archived = coalesce(n.archived, h.archived)"
                " FROM unnest(%b::uuid[], %b::bigint[], %b::int[], %b::boolean[])"
                " AS n(trip_id, added, version, archived) WHERE h.trip_id = n.trip_id"
            ).format(gen.table(HEADS)),
            (
                trips,
                [len(rows.get(t, ())) for t in trips],
                [heads[t][0] if t in heads else None for t in trips],
                [heads[t][1] if t in heads else None for t in trips],
            ),
        )
        if joined:
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {} (trip_id, user_id, member, changed_at)"
                    " SELECT *, clock_timestamp()"
                    " FROM unnest(%b::uuid[], %b::uuid[], %b::boolean[])"
                    " ON CONFLICT (trip_id, user_id) DO UPDATE SET member = excluded.member,"
                    " changed_at = excluded.changed_at"
                ).format(gen.table(MEMBERS)),
                ([j[0] for j in joined], [j[1] for j in joined], [j[2] for j in joined]),
            )
        changed = sorted(set(rows) | {trip for trip, _, _ in joined})
        if gen == LIVE and changed:
            await self._poke(conn, changed)

    async def _save_sources(
        self, conn: AsyncConnection, gen: Generation, changes: Mapping[UUID, Change[SyncSource]]
    ) -> None:
        kept = [(i, c.state) for i, c in changes.items() if c.state is not None]
        gone = [i for i, c in changes.items() if c.state is None]
        if kept:
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {} (aggregate_id, state)"
                    " SELECT * FROM unnest(%b::uuid[], %b::jsonb[])"
                    " ON CONFLICT (aggregate_id) DO UPDATE SET state = excluded.state"
                ).format(gen.table(SOURCES)),
                ([k[0] for k in kept], [Jsonb(k[1]) for k in kept]),
            )
        if gone:
            await self.forget_many(conn, gen, gone)

    async def _lock_heads(
        self, conn: AsyncConnection, gen: Generation, trips: list[str]
    ) -> dict[str, int]:
        """Each trip's last position, its head row locked (in trip order) until commit."""
        await conn.execute(
            sql.SQL(
                "INSERT INTO {} (trip_id, pos, trip_version, archived)"
                " SELECT t, 0, 0, false FROM unnest(%b::uuid[]) AS t ORDER BY t"
                " ON CONFLICT (trip_id) DO NOTHING"
            ).format(gen.table(HEADS)),
            (trips,),
        )
        cursor = await conn.execute(
            sql.SQL(
                "SELECT trip_id::text, pos FROM {} WHERE trip_id = ANY(%b::uuid[])"
                " ORDER BY trip_id FOR UPDATE"
            ).format(gen.table(HEADS)),
            (trips,),
        )
        return {row[0]: int(row[1]) for row in await cursor.fetchall()}

    async def _write_rows(
        self,
        conn: AsyncConnection,
        gen: Generation,
        rows: Mapping[str, list[FeedRow]],
        start: Mapping[str, int],
    ) -> None:
        flat: list[tuple[FeedRow, int]] = []
        for trip_id, trip_rows in rows.items():
            flat += [(row, start[trip_id] + n) for n, row in enumerate(trip_rows, 1)]
        if not flat:
            return
        await conn.execute(
            sql.SQL(
                "INSERT INTO {} (entity_id, trip_id, pos, entity_type, version, deleted, data,"
                " changed_at) SELECT *, clock_timestamp() FROM unnest(%b::uuid[], %b::uuid[],"
                " %b::bigint[], %b::text[], %b::int[], %b::boolean[], %b::jsonb[])"
                " ON CONFLICT (entity_id) DO UPDATE SET trip_id = excluded.trip_id,"
                " pos = excluded.pos, entity_type = excluded.entity_type,"
                " version = excluded.version, deleted = excluded.deleted, data = excluded.data,"
                " changed_at = excluded.changed_at"
            ).format(gen.table(FEED)),
            (
                [r["entity_id"] for r, _ in flat],
                [r["trip_id"] for r, _ in flat],
                [pos for _, pos in flat],
                [r["entity_type"] for r, _ in flat],
                [r["version"] for r, _ in flat],
                [r["deleted"] for r, _ in flat],
                [None if r["data"] is None else Jsonb(r["data"]) for r, _ in flat],
            ),
        )

    async def _poke(self, conn: AsyncConnection, trips: list[str]) -> None:
        """Tell each changed trip's members, and whoever just left it (by NOTIFY, which
        PostgreSQL sends on commit)."""
        cursor = await conn.execute(
            sql.SQL(
                "SELECT trip_id::text, array_agg(user_id::text) FROM {}"
                " WHERE trip_id = ANY(%b::uuid[]) AND (member OR changed_at >= now())"
                " GROUP BY trip_id"
            ).format(LIVE.table(MEMBERS)),
            (trips,),
        )
        found: dict[str, list[str]] = {row[0]: row[1] for row in await cursor.fetchall()}
        for trip_id in trips:
            payload = orjson.dumps({"trip_id": trip_id, "users": found.get(trip_id, [])})
            if len(payload) > _POKE_BYTES:  # a trip of hundreds: its members look it up
                payload = orjson.dumps({"trip_id": trip_id, "users": None})
            await conn.execute("SELECT pg_notify(%s, %s)", (POKE_CHANNEL, payload.decode()))

    async def forget(self, conn: AsyncConnection, gen: Generation, aggregate_id: UUID) -> None:
        await self.forget_many(conn, gen, [aggregate_id])

    async def forget_many(self, conn: AsyncConnection, gen: Generation, ids: list[Any]) -> None:
        """Only the folded state: what the feed told clients stays (it is their history)."""
        await conn.execute(
            sql.SQL("DELETE FROM {} WHERE aggregate_id = ANY(%b::uuid[])").format(
                gen.table(SOURCES)
            ),
            (ids,),
        )
