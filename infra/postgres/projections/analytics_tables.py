"""The analytics projection's tables: each trip's figures, every fact (once, by its id), and
the daily aggregates the facts add up to.

A live batch's facts are published first (to `analytics-events`, when a publisher is given:
distributed mode), then stored with the batch; the batch commits only after the broker
acknowledged them. A crash in between publishes them again with the same ids, and stores
them once: a fact already stored adds nothing to the days (`ON CONFLICT DO NOTHING`, and
only the facts inserted count). A rebuild stores the facts again into fresh tables without
publishing them again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from uuid import UUID

import orjson
from psycopg import AsyncConnection, sql

from infra.exchange_rates import ExchangeRates
from infra.postgres.projections.names import LIVE, Generation
from projections.analytics import ANALYTICS
from projections.analytics_daily import active_of, counts_of
from projections.analytics_state import Analytics
from projections.engine.ports import Change
from streams.analytics_contracts import Fact

TRIPS = "analytics_trips"
FACTS = "analytics_facts"
DAILY = "analytics_daily"
ACTIVE = "analytics_daily_active"

FactPublisher = Callable[[Sequence[Fact]], Awaitable[None]]


class AnalyticsTables:
    projection = ANALYTICS.name
    tables = (TRIPS, FACTS, DAILY, ACTIVE)

    def __init__(
        self, publish: FactPublisher | None = None, rates: ExchangeRates | None = None
    ) -> None:
        self._publish = publish
        self._rates = rates or ExchangeRates({})

    def create(self, gen: Generation) -> list[sql.Composed]:
        return [
            sql.SQL("CREATE TABLE {} (trip_id uuid PRIMARY KEY, figures jsonb NOT NULL)").format(
                gen.table(TRIPS)
            ),
            sql.SQL(
                "CREATE TABLE {} (event_id uuid PRIMARY KEY, trip_id uuid NOT NULL,"
                " day date NOT NULL, event_type text NOT NULL, actor_id uuid NOT NULL,"
                " fact jsonb NOT NULL)"
            ).format(gen.table(FACTS)),
            sql.SQL(
                "CREATE TABLE {} (day date, metric text, dimension text, amount numeric NOT NULL,"
                " PRIMARY KEY (day, metric, dimension))"
            ).format(gen.table(DAILY)),
            sql.SQL(
                "CREATE TABLE {} (day date, kind text, id uuid, PRIMARY KEY (day, kind, id))"
            ).format(gen.table(ACTIVE)),
        ]

    def indexes(self, gen: Generation) -> list[sql.Composed]:
        return [sql.SQL("CREATE INDEX ON {} (trip_id, actor_id)").format(gen.table(FACTS))]

    async def load(
        self, conn: AsyncConnection, gen: Generation, ids: list[UUID]
    ) -> dict[UUID, Analytics]:
        if not ids:
            return {}
        cursor = await conn.execute(
            sql.SQL("SELECT trip_id, figures FROM {} WHERE trip_id = ANY(%s)").format(
                gen.table(TRIPS)
            ),
            (ids,),
        )
        return {row[0]: Analytics(trip=row[1], new=[]) for row in await cursor.fetchall()}

    async def save(
        self, conn: AsyncConnection, gen: Generation, changes: Mapping[UUID, Change[Analytics]]
    ) -> None:
        facts = [
            self._rates.applied(fact)
            for change in changes.values()
            if change.state
            for fact in change.state["new"]
        ]
        if facts and gen == LIVE and self._publish is not None:
            await self._publish(facts)
        if facts:
            await _store_facts(conn, gen, facts)
        kept = {  # the figures that changed (most events change no figure)
            trip_id: change.state["trip"]
            for trip_id, change in changes.items()
            if change.state is not None
            and change.state["trip"] is not None
            and (change.before is None or change.before["trip"] != change.state["trip"])
        }
        gone = [trip_id for trip_id, change in changes.items() if change.state is None]
        if kept:
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {} (trip_id, figures)"
                    " SELECT id, doc::jsonb FROM unnest(%b::uuid[], %b::text[]) AS t(id, doc)"
                    " ON CONFLICT (trip_id) DO UPDATE SET figures = excluded.figures"
                ).format(gen.table(TRIPS)),
                (list(kept), [orjson.dumps(f).decode() for f in kept.values()]),
            )
        if gone:
            await conn.execute(
                sql.SQL("DELETE FROM {} WHERE trip_id = ANY(%s)").format(gen.table(TRIPS)),
                (gone,),
            )

    async def forget(self, conn: AsyncConnection, gen: Generation, aggregate_id: UUID) -> None:
        # The facts stay: built again, the trip yields the same ones, which count once.
        await conn.execute(
            sql.SQL("DELETE FROM {} WHERE trip_id = %s").format(gen.table(TRIPS)), (aggregate_id,)
        )


async def _store_facts(conn: AsyncConnection, gen: Generation, facts: Sequence[Fact]) -> None:
    """Insert the facts not stored yet, and add only those to their days."""
    cursor = await conn.execute(
        sql.SQL(
            "INSERT INTO {} (event_id, trip_id, day, event_type, actor_id, fact)"
            " SELECT e, t, d, k, a, f::jsonb FROM unnest(%b::uuid[], %b::uuid[], %b::date[],"
            " %b::text[], %b::uuid[], %b::text[]) AS facts(e, t, d, k, a, f)"
            " ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
        ).format(gen.table(FACTS)),
        (
            [f.event_id for f in facts],
            [f.trip_id for f in facts],
            [f.day for f in facts],
            [f.event_type for f in facts],
            [f.actor_id for f in facts],
            [f.model_dump_json() for f in facts],
        ),
    )
    inserted = {row[0] for row in await cursor.fetchall()}
    amounts: dict[tuple[object, str, str], Decimal] = {}
    active: set[tuple[object, str, str]] = set()
    for fact in facts:
        if fact.event_id not in inserted:
            continue
        inserted.discard(fact.event_id)  # a fact twice in one batch counts once
        for metric, dimension, amount in counts_of(fact):
            key = (fact.day, metric, dimension)
            amounts[key] = amounts.get(key, Decimal(0)) + amount
        active.update((fact.day, kind, id_) for kind, id_ in active_of(fact))
    if amounts:
        keys = sorted(amounts, key=str)  # one order for every writer: no deadlocks
        await conn.execute(
            sql.SQL(
                "INSERT INTO {} (day, metric, dimension, amount)"
                " SELECT * FROM unnest(%s::date[], %s::text[], %s::text[], %s::numeric[])"
                " ON CONFLICT (day, metric, dimension)"
                " DO UPDATE SET amount = {}.amount + excluded.amount"
            ).format(gen.table(DAILY), gen.table(DAILY)),
            (
                [k[0] for k in keys],
                [k[1] for k in keys],
                [k[2] for k in keys],
                [amounts[k] for k in keys],
            ),
        )
    if active:
        rows = sorted(active, key=str)
        await conn.execute(
            sql.SQL(
                "INSERT INTO {} (day, kind, id)"
                " SELECT * FROM unnest(%s::date[], %s::text[], %s::uuid[]) ON CONFLICT DO NOTHING"
            ).format(gen.table(ACTIVE)),
            ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]),
        )
