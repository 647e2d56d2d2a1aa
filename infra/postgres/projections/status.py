"""What `itinera status` and `GET /health/projections` show: each projection's lag, parked
aggregates and version, and the relay's backlog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

from infra.postgres.projections.names import LIVE, dead_letters_table, tracking_table
from projections.engine.lag import Lane, ProjectionHealth, projection_health
from projections.engine.projection import Projection
from streams.outbox import BACKLOG_COUNT_LIMIT
from streams.position import LogPosition


@dataclass(frozen=True)
class RelayHealth:
    position: LogPosition | None  # None: no relay ever ran on this event store (embedded mode)
    head: int  # the newest notification id
    counted: int  # events recorded after the position, counted up to BACKLOG_COUNT_LIMIT

    @property
    def backlog(self) -> int:
        """Events recorded after the relay's position (readable or waiting behind a
        transaction still open): exact up to BACKLOG_COUNT_LIMIT, estimated from notification
        ids beyond (positions are pairs: their ids alone are no count)."""
        if self.position is None:
            return self.head
        if self.counted < BACKLOG_COUNT_LIMIT:
            return self.counted
        return max(self.head - self.position.notification, self.counted)


async def projections_health(
    pool: AsyncConnectionPool, projections: list[Projection[Any]], stall_after: timedelta
) -> list[ProjectionHealth]:
    found = []
    async with pool.connection() as conn:
        now = await _now(conn)
        for projection in projections:
            found.append(await _health_of(conn, projection, now, stall_after))
    return found


def relay_health_query(events_table: str) -> sql.Composed:
    """The relay's position, the log's newest id and the events after the position, in one
    row (parameter: the relay's name)."""
    return sql.SQL(
        "WITH p AS (SELECT transaction_id, position FROM stream_positions WHERE name = %s)"
        " SELECT (SELECT transaction_id FROM p), (SELECT position FROM p),"
        " (SELECT max(notification_id) FROM {events}),"
        " (SELECT count(*) FROM (SELECT FROM {events} AS e, p"
        "   WHERE (e.transaction_id, e.notification_id) > (p.transaction_id::text::xid8,"
        "   p.position) LIMIT {limit}) AS after)"
    ).format(events=sql.Identifier(events_table), limit=sql.Literal(BACKLOG_COUNT_LIMIT))


def relay_health_of(row: tuple[Any, ...] | None) -> RelayHealth:
    transaction, position, head, counted = row if row else (None, None, 0, 0)
    at = None if position is None else LogPosition(int(transaction), int(position))
    return RelayHealth(at, int(head or 0), int(counted or 0))


async def relay_health(
    pool: AsyncConnectionPool, events_table: str, relay_name: str
) -> RelayHealth:
    async with pool.connection() as conn:
        cursor = await conn.execute(relay_health_query(events_table), (relay_name,))
        return relay_health_of(await cursor.fetchone())


async def _now(conn: AsyncConnection[Any]) -> datetime:
    cursor = await conn.execute("SELECT now()")
    row = await cursor.fetchone()
    return row[0] if row else datetime.now(UTC)


async def _health_of(
    conn: AsyncConnection[Any], projection: Projection[Any], now: datetime, stall_after: timedelta
) -> ProjectionHealth:
    cursor = await conn.execute(
        "SELECT version FROM projection_state WHERE name = %s", (projection.name,)
    )
    row = await cursor.fetchone()
    built = row[0] if row else None
    cursor = await conn.execute(
        "SELECT lane, applied_offset, head_offset, applied_event_at, progressed_at,"
        " behind_since, reported_at FROM projection_lanes WHERE projection = %s",
        (projection.name,),
    )
    lanes = [Lane(*lane) for lane in await cursor.fetchall()]
    cursor = await conn.execute(
        sql.SQL("SELECT (SELECT count(*) FROM {} WHERE parked), (SELECT count(*) FROM {})").format(
            LIVE.table(tracking_table(projection.name)),
            LIVE.table(dead_letters_table(projection.name)),
        )
    )
    counts = await cursor.fetchone()
    parked, letters = (int(counts[0]), int(counts[1])) if counts else (0, 0)
    return projection_health(
        projection.name,
        projection.version,
        built,
        lanes,
        parked=parked,
        dead_letters=letters,
        now=now,
        stall_after=stall_after,
        gather_seconds=projection.gather_seconds,
    )
