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


@dataclass(frozen=True)
class RelayHealth:
    position: int | None  # None: no relay ever ran on this event store (embedded mode)
    head: int

    @property
    def backlog(self) -> int:
        return max(self.head - (self.position or 0), 0)


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
    """The relay's position and the log's head, in one row (parameter: the relay's name)."""
    return sql.SQL(
        "SELECT (SELECT position FROM stream_positions WHERE name = %s),"
        " (SELECT max(notification_id) FROM {})"
    ).format(sql.Identifier(events_table))


def relay_health_of(row: tuple[Any, ...] | None) -> RelayHealth:
    position, head = row if row else (None, 0)
    return RelayHealth(None if position is None else int(position), int(head or 0))


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
    )
