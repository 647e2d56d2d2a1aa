"""The projection engine's store on PostgreSQL, for any projection and either generation.

One batch is one transaction. It locks the aggregates it loads (an advisory lock per
projection, generation and aggregate, taken in a fixed order), so two writers of one
aggregate's live state (a worker during a rebalance, `itinera dlq retry`) take turns; a
rebuild's writers lock in the shadow's name, so a swap never waits on a live batch that waits
on the swap.

A live batch ends with a NOTIFY on `itinera_projections` for each aggregate whose state or
parking it changed (`<projection>/<aggregate id>/<version saved>`, or without the version for
a park, a release or a removal), which wakes read-your-writes waiters: a reader waiting for
one trip's view wakes when that trip's change commits, not at every batch of every trip; and
paces writers (infra/write_pacing.py). A batch that changed no state (a lane's position only)
sends none.

Errors that say the store is unavailable become TransientStoreError (retried); data errors
(a value PostgreSQL refuses, a broken constraint) pass through and park.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Generic, TypeVar
from uuid import UUID

import psycopg
from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from infra.postgres.projections.names import (
    LIVE,
    Generation,
    dead_letters_table,
    tracking_table,
)
from infra.postgres.projections.tables import StateTables
from projections.engine.ports import (
    Change,
    Current,
    DeadLetter,
    LaneMark,
    LaneOffset,
    StoreRefusedError,
    TransientStoreError,
)

S = TypeVar("S")

CHANNEL = "itinera_projections"
# A lane mark is ahead of the stored one: (transaction, offset) pairs, compared in order.
_AHEAD = (
    "(excluded.applied_transaction, excluded.applied_offset)"
    " > (l.applied_transaction, l.applied_offset)"
)

Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


@asynccontextmanager
async def transient_errors() -> AsyncIterator[None]:
    """Store errors that say "not now" become TransientStoreError; those that refuse the
    data become StoreRefusedError."""
    try:
        yield
    except (psycopg.DataError, psycopg.IntegrityError) as error:
        raise StoreRefusedError(f"{type(error).__name__}: {error}") from error
    except (psycopg.Error, PoolTimeout, OSError) as error:
        raise TransientStoreError(f"{type(error).__name__}: {error}") from error


class PostgresProjectionStore(Generic[S]):
    def __init__(
        self,
        connect: Connect,
        tables: StateTables[S],
        gen: Generation = LIVE,
        *,
        notify: bool = True,
    ) -> None:
        self.tables = tables
        self.gen = gen
        self._connect = connect
        self._notify = notify and gen == LIVE

    @classmethod
    def on_pool(
        cls, pool: AsyncConnectionPool, tables: StateTables[S], gen: Generation = LIVE
    ) -> PostgresProjectionStore[S]:
        return cls(pool.connection, tables, gen)

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[PostgresBatch[S]]:
        # Pipelined: the statements that only write (the states, the tracking rows, the lane
        # marks, the notices, the commit) go out together, not one round trip each; a
        # statement whose rows are read (the loads) still waits for its own.
        async with (
            transient_errors(),
            self._connect() as conn,
            conn.pipeline(),
            conn.transaction(),
        ):
            batch = PostgresBatch(conn, self.tables, self.gen)
            yield batch
            if self._notify and batch.touched:
                name = self.tables.projection
                await conn.execute(
                    "SELECT pg_notify(%s, %s || '/' || id) FROM unnest(%b::text[]) AS t(id)",
                    (CHANNEL, name, sorted(batch.notices())),
                )

    async def offsets(self) -> dict[str, LaneOffset]:
        """How far this projection got on each lane."""
        async with transient_errors(), self._connect() as conn:
            cursor = await conn.execute(
                "SELECT lane, applied_transaction, applied_offset FROM projection_lanes"
                " WHERE projection = %s",
                (self.tables.projection,),
            )
            return {
                lane: LaneOffset(int(transaction), int(offset))
                for lane, transaction, offset in await cursor.fetchall()
            }

    async def report_heads(self, heads: Mapping[str, int]) -> None:
        if not heads:
            return
        async with transient_errors(), self._connect() as conn:
            await conn.execute(
                "INSERT INTO projection_lanes AS l (projection, lane, applied_offset,"
                " progressed_at, head_offset, behind_since, reported_at)"
                " SELECT %(p)s, lane, -1, now(), head, CASE WHEN head >= 0 THEN now() END, now()"
                " FROM unnest(%(lanes)s::text[], %(heads)s::bigint[]) AS h(lane, head)"
                # Rows locked in lane order, as `mark` does: the two cannot deadlock.
                " ORDER BY lane"
                " ON CONFLICT (projection, lane) DO UPDATE SET head_offset = excluded.head_offset,"
                " behind_since = CASE WHEN excluded.head_offset <= l.applied_offset THEN NULL"
                "   ELSE coalesce(l.behind_since, now()) END,"
                " reported_at = now()",
                {"p": self.tables.projection, "lanes": list(heads), "heads": list(heads.values())},
            )


class PostgresBatch(Generic[S]):
    def __init__(self, conn: AsyncConnection, tables: StateTables[S], gen: Generation) -> None:
        self._conn = conn
        self._tables = tables
        self._gen = gen
        self._projection = tables.projection
        self._tracking = gen.table(tracking_table(tables.projection))
        self._letters = gen.table(dead_letters_table(tables.projection))
        # The aggregates whose state or parking this batch changed, each with the version
        # saved (None: parked, released or forgotten).
        self.touched: dict[UUID, int | None] = {}

    def notices(self) -> list[str]:
        """What the batch's notice says of each aggregate it touched, after the projection's
        name: `<id>/<version saved>`, or `<id>` (parked, released or forgotten)."""
        return [
            f"{aggregate_id}" if version is None else f"{aggregate_id}/{version}"
            for aggregate_id, version in self.touched.items()
        ]

    async def load(self, ids: Sequence[UUID]) -> dict[UUID, Current[S]]:
        wanted = sorted(set(ids))
        await self._conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s || id::text, 0))"
            " FROM unnest(%b::uuid[]) WITH ORDINALITY AS t(id, n) ORDER BY n",
            (f"{self._projection}{self._gen.suffix}:", wanted),
        )
        cursor = await self._conn.execute(
            sql.SQL(
                "SELECT aggregate_id, version, parked FROM {} WHERE aggregate_id = ANY(%b)"
            ).format(self._tracking),
            (wanted,),
        )
        tracked = {row[0]: (int(row[1]), bool(row[2])) for row in await cursor.fetchall()}
        states = await self._tables.load(self._conn, self._gen, list(tracked))
        return {
            aggregate_id: Current(version=version, parked=parked, state=states.get(aggregate_id))
            for aggregate_id, (version, parked) in tracked.items()
        }

    async def save(self, changes: Mapping[UUID, Change[S]]) -> None:
        if not changes:
            return
        for aggregate_id, change in changes.items():
            if self.touched.get(aggregate_id, 0) is not None:  # a park said more
                self.touched[aggregate_id] = change.version
        # The tables first: what they compute before writing (embeddings) then runs before
        # this transaction's first write, so without a transaction id, which would hold back
        # every reader of the event store's log meanwhile (see docs/design.md).
        await self._tables.save(self._conn, self._gen, changes)
        await self._conn.execute(
            sql.SQL(
                "INSERT INTO {} AS t (aggregate_id, version)"
                " SELECT * FROM unnest(%b::uuid[], %b::int[])"
                " ON CONFLICT (aggregate_id) DO UPDATE SET version = excluded.version"
            ).format(self._tracking),
            (list(changes), [change.version for change in changes.values()]),
        )

    async def park(self, aggregate_id: UUID, version: int, letters: Sequence[DeadLetter]) -> None:
        self.touched[aggregate_id] = None
        await self._conn.execute(
            sql.SQL(
                "INSERT INTO {} (aggregate_id, version, parked) VALUES (%s, %s, true)"
                " ON CONFLICT (aggregate_id) DO UPDATE SET version = excluded.version,"
                " parked = true"
            ).format(self._tracking),
            (aggregate_id, version),
        )
        async with self._conn.cursor() as cursor:
            await cursor.executemany(
                sql.SQL(
                    "INSERT INTO {} AS d (aggregate_id, aggregate_version, event_type, payload,"
                    " error, attempts, failed) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (aggregate_id, aggregate_version) DO UPDATE"
                    " SET failed = d.failed OR excluded.failed,"
                    " error = CASE WHEN excluded.failed THEN excluded.error ELSE d.error END,"
                    " attempts = d.attempts + excluded.attempts"
                ).format(self._letters),
                [
                    (
                        letter.aggregate_id,
                        letter.aggregate_version,
                        letter.event_type,
                        letter.payload,
                        letter.error,
                        letter.attempts,
                        letter.failed,
                    )
                    for letter in letters
                ],
            )

    async def unpark(self, aggregate_id: UUID) -> None:
        self.touched[aggregate_id] = None
        await self._conn.execute(
            sql.SQL("DELETE FROM {} WHERE aggregate_id = %s").format(self._letters),
            (aggregate_id,),
        )
        await self._conn.execute(
            sql.SQL("UPDATE {} SET parked = false WHERE aggregate_id = %s").format(self._tracking),
            (aggregate_id,),
        )

    async def forget(self, aggregate_id: UUID) -> None:
        self.touched[aggregate_id] = None
        await self._tables.forget(self._conn, self._gen, aggregate_id)
        await self._conn.execute(
            sql.SQL("DELETE FROM {} WHERE aggregate_id = %s").format(self._tracking),
            (aggregate_id,),
        )

    async def mark(self, marks: Sequence[LaneMark]) -> None:
        if not marks:
            return
        await self._conn.execute(
            # A lane's (transaction, offset) only moves forward, as a pair.
            "INSERT INTO projection_lanes AS l (projection, lane, applied_transaction,"
            " applied_offset, applied_event_at, progressed_at)"
            " SELECT %s, lane, transaction, applied, event_at, now()"
            " FROM unnest(%b::text[], %b::bigint[], %b::bigint[], %b::timestamptz[])"
            " AS m(lane, transaction, applied, event_at)"
            " ORDER BY lane"  # locks in lane order, as `report_heads` takes them
            " ON CONFLICT (projection, lane) DO UPDATE SET"
            f" applied_transaction = CASE WHEN {_AHEAD} THEN excluded.applied_transaction"
            "   ELSE l.applied_transaction END,"
            f" applied_offset = CASE WHEN {_AHEAD} THEN excluded.applied_offset"
            "   ELSE l.applied_offset END,"
            f" progressed_at = CASE WHEN {_AHEAD} THEN now() ELSE l.progressed_at END,"
            " applied_event_at = coalesce(excluded.applied_event_at, l.applied_event_at)",
            (
                self._projection,
                [m.lane for m in marks],
                [m.transaction for m in marks],
                [m.offset for m in marks],
                [m.event_at for m in marks],
            ),
        )
