"""The recommendation catalogue's tables: one row per trip (its state, and the embedding of
its profile text: any visibility, used only to rank that trip's own suggestions), and one
row per destination and activity of a public, unarchived trip (the candidates, with their
location on indexed columns and the embedding of their text).

Embeddings are made here, when a batch is saved (off the event loop), and only for texts
whose hash or model differs from the row's: an unchanged row keeps its vector. A rebuild
takes the live tables' vectors of the same text and model instead of embedding again, so
it re-embeds only what changed, or everything when the configured model changed.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from uuid import UUID

import orjson
from psycopg import AsyncConnection, sql

from infra.embeddings import embedder
from infra.embeddings.vectors import to_bytes
from infra.postgres.projections.names import LIVE, Generation
from infra.settings import Settings
from projections.engine.ports import Change
from projections.recommendation_catalogue import (
    RECOMMENDATION_CATALOGUE,
    CatalogueEntry,
    TripContent,
    catalogue_entries,
    profile_text,
)
from read_side.recommendations import Embedder

TRIPS = "recommendation_trips"
ITEMS = "recommendation_items"
_EXISTS = "SELECT to_regclass(%s) IS NOT NULL"


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class RecommendationTables:
    projection = RECOMMENDATION_CATALOGUE.name
    tables = (TRIPS, ITEMS)

    def __init__(self, embed: Embedder | None = None) -> None:
        self._given = embed

    @property
    def _embedder(self) -> Embedder:
        """The one given, else the one the environment's settings choose (made on first use:
        the catalogue is listed where no embedding happens, to create tables)."""
        if self._given is None:
            self._given = embedder(Settings())
        return self._given

    def create(self, gen: Generation) -> list[sql.Composed]:
        return [
            sql.SQL(
                "CREATE TABLE {} (trip_id uuid PRIMARY KEY, state jsonb NOT NULL,"
                " text_hash text NOT NULL, model text NOT NULL, embedding bytea NOT NULL)"
            ).format(gen.table(TRIPS)),
            sql.SQL(
                "CREATE TABLE {} (item_id uuid PRIMARY KEY, trip_id uuid NOT NULL,"
                " kind text NOT NULL, title text NOT NULL, description text NOT NULL,"
                " activity_type text, destination_id uuid NOT NULL,"
                " lat double precision NOT NULL, lng double precision NOT NULL,"
                " cost numeric, currency text, text_hash text NOT NULL, model text NOT NULL,"
                " embedding bytea NOT NULL)"
            ).format(gen.table(ITEMS)),
        ]

    def indexes(self, gen: Generation) -> list[sql.Composed]:
        items = gen.table(ITEMS)
        return [
            sql.SQL("CREATE INDEX ON {} (lat, lng)").format(items),
            sql.SQL("CREATE INDEX ON {} (trip_id)").format(items),
        ]

    async def load(
        self, conn: AsyncConnection, gen: Generation, ids: list[UUID]
    ) -> dict[UUID, TripContent]:
        if not ids:
            return {}
        cursor = await conn.execute(
            sql.SQL("SELECT trip_id, state FROM {} WHERE trip_id = ANY(%s)").format(
                gen.table(TRIPS)
            ),
            (ids,),
        )
        return {row[0]: row[1] for row in await cursor.fetchall()}

    async def save(
        self, conn: AsyncConnection, gen: Generation, changes: Mapping[UUID, Change[TripContent]]
    ) -> None:
        trips = {t: change.state for t, change in changes.items() if change.state is not None}
        profiles = {t: profile_text(state) for t, state in trips.items()}
        entries = [e for t, state in trips.items() for e in catalogue_entries(t, state)]
        before = {
            e.item_id: e
            for t, change in changes.items()
            for e in catalogue_entries(t, change.before)
        }
        texts = {("trip", t): text for t, text in profiles.items()}
        texts.update({("item", e.item_id): e.text for e in entries})
        vectors, made = await self._vectors(conn, gen, texts)
        await conn.execute(
            sql.SQL("DELETE FROM {} WHERE trip_id = ANY(%s) AND NOT item_id = ANY(%s)").format(
                gen.table(ITEMS)
            ),
            (list(changes), [e.item_id for e in entries]),
        )
        gone = [t for t, change in changes.items() if change.state is None]
        if gone:
            await conn.execute(
                sql.SQL("DELETE FROM {} WHERE trip_id = ANY(%s)").format(gen.table(TRIPS)), (gone,)
            )
        model = self._embedder.model
        if trips:
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {} (trip_id, state, text_hash, model, embedding)"
                    " SELECT t, s::jsonb, h, m, e FROM unnest(%b::uuid[], %b::text[], %b::text[],"
                    " %b::text[], %b::bytea[]) AS rows(t, s, h, m, e)"
                    " ON CONFLICT (trip_id) DO UPDATE SET state = excluded.state,"
                    " text_hash = excluded.text_hash, model = excluded.model,"
                    " embedding = excluded.embedding"
                ).format(gen.table(TRIPS)),
                (
                    list(trips),
                    [orjson.dumps(state).decode() for state in trips.values()],
                    [text_hash(profiles[t]) for t in trips],
                    [model] * len(trips),
                    [vectors["trip", t] for t in trips],
                ),
            )
        # Rows neither changed nor given a new vector are left as they are.
        written = [e for e in entries if ("item", e.item_id) in made or before.get(e.item_id) != e]
        if written:
            await _upsert_items(conn, gen, written, model, vectors)

    async def forget(self, conn: AsyncConnection, gen: Generation, aggregate_id: UUID) -> None:
        for table in self.tables:
            await conn.execute(
                sql.SQL("DELETE FROM {} WHERE trip_id = %s").format(gen.table(table)),
                (aggregate_id,),
            )

    async def _vectors(
        self, conn: AsyncConnection, gen: Generation, texts: dict[tuple[str, UUID], str]
    ) -> tuple[dict[tuple[str, UUID], bytes], set[tuple[str, UUID]]]:
        """A vector for each text, and which were not in these tables: the stored one when
        its text and model are the same (here, or in the live tables during a rebuild), else
        a new one."""
        model = self._embedder.model
        hashes = {key: text_hash(text) for key, text in texts.items()}
        found: dict[tuple[str, UUID], bytes] = {}
        made: set[tuple[str, UUID]] = set()
        sources = [gen] if gen == LIVE or not await _exists(conn, LIVE, TRIPS) else [gen, LIVE]
        for source in sources:
            if source != gen:
                made.update(key for key in texts if key not in found)
            for kind, table, key in (("trip", TRIPS, "trip_id"), ("item", ITEMS, "item_id")):
                ids = [i for (k, i) in texts if k == kind and (k, i) not in found]
                if not ids:
                    continue
                cursor = await conn.execute(
                    sql.SQL(
                        "SELECT {}, text_hash, embedding FROM {} WHERE {} = ANY(%s) AND model = %s"
                    ).format(sql.Identifier(key), source.table(table), sql.Identifier(key)),
                    (ids, model),
                )
                for row_id, stored_hash, embedding in await cursor.fetchall():
                    if hashes[kind, row_id] == stored_hash:
                        found[kind, row_id] = bytes(embedding)
        missing = [key for key in texts if key not in found]
        if missing:
            new = await asyncio.to_thread(self._embedder.embed, [texts[k] for k in missing])
            found.update(zip(missing, map(to_bytes, new), strict=True))
            made.update(missing)
        return found, made


async def _upsert_items(
    conn: AsyncConnection,
    gen: Generation,
    entries: Sequence[CatalogueEntry],
    model: str,
    vectors: Mapping[tuple[str, UUID], bytes],
) -> None:
    await conn.execute(
        sql.SQL(
            "INSERT INTO {} (item_id, trip_id, kind, title, description, activity_type,"
            " destination_id, lat, lng, cost, currency, text_hash, model, embedding)"
            " SELECT * FROM unnest(%s::uuid[], %s::uuid[], %s::text[], %s::text[], %s::text[],"
            " %s::text[], %s::uuid[], %s::float8[], %s::float8[], %s::numeric[], %s::text[],"
            " %s::text[], %s::text[], %s::bytea[])"
            " ON CONFLICT (item_id) DO UPDATE SET trip_id = excluded.trip_id,"
            " kind = excluded.kind, title = excluded.title, description = excluded.description,"
            " activity_type = excluded.activity_type, destination_id = excluded.destination_id,"
            " lat = excluded.lat, lng = excluded.lng, cost = excluded.cost,"
            " currency = excluded.currency, text_hash = excluded.text_hash,"
            " model = excluded.model, embedding = excluded.embedding"
        ).format(gen.table(ITEMS)),
        (
            [e.item_id for e in entries],
            [e.trip_id for e in entries],
            [e.kind for e in entries],
            [e.title for e in entries],
            [e.description for e in entries],
            [e.activity_type for e in entries],
            [e.destination_id for e in entries],
            [e.lat for e in entries],
            [e.lng for e in entries],
            [e.cost for e in entries],
            [e.currency for e in entries],
            [text_hash(e.text) for e in entries],
            [model] * len(entries),
            [vectors["item", e.item_id] for e in entries],
        ),
    )


async def _exists(conn: AsyncConnection, gen: Generation, table: str) -> bool:
    cursor = await conn.execute(_EXISTS, (gen.name_of(table),))
    row = await cursor.fetchone()
    return bool(row and row[0])
