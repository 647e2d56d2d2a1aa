"""The trip read store on PostgreSQL (psycopg 3, async pool): the tables the trip views
projection writes, with whether each trip is parked (from the projection's tracking)."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from infra.postgres.queued_reads import QueuedReads
from read_side.cursors import decode_cursor, encode_cursor
from read_side.errors import InvalidCursorError
from read_side.served import with_members
from read_side.store import ANY_TRIP, ServedTrip, ServedTripPage, StoredTrip, TripFilter
from read_side.views import TripSummary, TripSummaryPage, TripView, trip_readable


def encode_trip_cursor(summary: TripSummary) -> str:
    return encode_cursor(summary.start_date.isoformat(), str(summary.trip_id))


def decode_trip_cursor(cursor: str) -> tuple[date, UUID]:
    start, trip_id = decode_cursor(cursor, 2)
    try:
        return date.fromisoformat(start), UUID(trip_id)
    except ValueError as error:
        raise InvalidCursorError("Malformed cursor") from error


_TRIP = (
    "SELECT v.view, coalesce(t.parked, false) FROM trip_views v"
    " LEFT JOIN trip_views_tracking t ON t.aggregate_id = v.trip_id"
)
_VIEW_VERSION = (
    "SELECT v.version, coalesce(t.parked, false) FROM trip_views v"
    " LEFT JOIN trip_views_tracking t ON t.aggregate_id = v.trip_id WHERE v.trip_id = %s"
)


# One statement, one round trip: the served trip with its members' current profiles, who may
# read it (from the columns beside the view: whether it is archived, its visibility and its
# members, decided by `trip_readable` as for a decoded view), and the trip's version in the
# event store at the same instant (read-your-writes without asking the event store again).
# Nothing in it depends on the viewer: readers of one trip queued for a connection at once
# share it (infra/postgres/queued_reads.py).
_SERVED = (
    "SELECT v.served, v.version, coalesce(t.parked, false),"
    " v.archived IS NOT FALSE, v.visibility,"  # a flag never written refuses, as archived
    " (SELECT coalesce(json_agg(m.member || jsonb_build_object("
    "   'username', u.username, 'avatar', u.avatar_url) ORDER BY m.n), '[]')::text"
    "  FROM jsonb_array_elements(v.members) WITH ORDINALITY AS m(member, n)"
    "  LEFT JOIN user_directory u ON u.user_id = (m.member->>'user_id')::uuid),"
    " (SELECT string_agg(m->>'user_id', ',') FROM jsonb_array_elements(v.members) AS m),"
    " {stream_version}"
    " FROM trip_views v LEFT JOIN trip_views_tracking t ON t.aggregate_id = v.trip_id"
    " WHERE v.trip_id = %s AND v.served IS NOT NULL"
)


def _served_query(events_table: sql.Identifier | None) -> sql.Composed:
    stream_version = (
        sql.SQL("NULL::integer")
        if events_table is None
        else sql.SQL(
            "(SELECT max(originator_version) FROM {} WHERE originator_id = v.trip_id)"
        ).format(events_table)
    )
    return sql.SQL(_SERVED).format(stream_version=stream_version)


def _stored(row: tuple[Any, ...] | None) -> StoredTrip | None:
    return None if row is None else StoredTrip(TripView.model_validate(row[0]), bool(row[1]))


class PostgresTripReadStore:
    """`events_table`: the event store's table, when it is in the same database (it is in
    every mode), so a read learns the trip's version in the same statement."""

    def __init__(
        self, pool: AsyncConnectionPool, events_table: sql.Identifier | None = None
    ) -> None:
        self._pool = pool
        # Composed once: rendering the identifiers costs more than the rest of the call.
        self._served = _served_query(events_table).as_bytes(None)
        self._served_rows = QueuedReads[UUID, tuple[Any, ...] | None](pool)

    async def served_trip(self, trip_id: UUID, viewer_id: UUID) -> ServedTrip | None:
        row = await self._served_rows.read(trip_id, partial(self._served_row, trip_id))
        if row is None:
            return None
        served, version, parked, archived, visibility, members, member_ids, stream_version = row
        member = str(viewer_id) in (member_ids or "").split(",")
        return ServedTrip(
            data=with_members(served, members),
            version=version,
            parked=parked,
            readable=trip_readable(archived=archived, visibility=visibility, member=member),
            stream_version=stream_version,
        )

    async def _served_row(self, trip_id: UUID, conn: AsyncConnection) -> tuple[Any, ...] | None:
        cursor = await conn.execute(self._served, (trip_id,))
        return await cursor.fetchone()

    async def view_version(self, trip_id: UUID) -> tuple[int, bool] | None:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_VIEW_VERSION, (trip_id,))
            row = await cursor.fetchone()
        return None if row is None else (row[0], row[1])

    async def get_trip(self, trip_id: UUID) -> StoredTrip | None:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(f"{_TRIP} WHERE v.trip_id = %s", (trip_id,))
            return _stored(await cursor.fetchone())

    async def trip_holding(self, entity_id: UUID) -> StoredTrip | None:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                f"{_TRIP} JOIN trip_items i ON i.trip_id = v.trip_id WHERE i.item_id = %s",
                (entity_id,),
            )
            return _stored(await cursor.fetchone())

    async def list_trips(
        self, user_id: UUID, limit: int, after: str | None, where: TripFilter = ANY_TRIP
    ) -> TripSummaryPage:
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(_LISTED, _listed(user_id, limit, after, where))
            rows = await cursor.fetchall()
        page = rows[:limit]
        items = tuple(TripSummary.model_validate(row) for row in page)
        return TripSummaryPage(
            items=items,
            next_cursor=encode_trip_cursor(items[-1]) if len(rows) > limit else None,
            parked=frozenset(row["trip_id"] for row in page if row["parked"]),
        )

    async def served_trip_list(
        self, user_id: UUID, limit: int, after: str | None, where: TripFilter = ANY_TRIP
    ) -> ServedTripPage:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_SERVED_LIST, _listed(user_id, limit, after, where))
            row = await cursor.fetchone()
        assert row is not None  # an aggregate over the page: one row, even for none
        data, more, parked, last_start, last_trip = row
        return ServedTripPage(
            data=data,
            next_cursor=encode_cursor(last_start.isoformat(), str(last_trip)) if more else None,
            parked=parked,
        )


def _listed(user_id: UUID, limit: int, after: str | None, where: TripFilter) -> dict[str, Any]:
    start, trip_id = decode_trip_cursor(after) if after else (date.min, UUID(int=0))
    return {
        "user": user_id,
        "start": start,
        "trip": trip_id,
        "status": where.status,
        "role": where.role,
        "from": where.from_date,
        "to": where.to_date,
        "limit": limit + 1,  # one more than shown: whether there is a next page
        "shown": limit,
    }


# A user's trips after a cursor, filtered, in page order; one row more than the page.
_LISTED = (
    "SELECT l.user_id, l.trip_id, l.role, l.title, l.start_date, l.end_date,"
    " l.status, v.version, v.updated_at, coalesce(t.parked, false) AS parked"
    " FROM user_trips l JOIN trip_views v ON v.trip_id = l.trip_id"
    " LEFT JOIN trip_views_tracking t ON t.aggregate_id = l.trip_id"
    " WHERE l.user_id = %(user)s"
    " AND (l.start_date, l.trip_id) > (%(start)s, %(trip)s)"
    " AND (%(status)s::text IS NULL OR l.status = %(status)s)"
    " AND (%(role)s::text IS NULL OR l.role = %(role)s)"
    " AND (%(from)s::date IS NULL OR l.end_date >= %(from)s)"
    " AND (%(to)s::date IS NULL OR l.start_date <= %(to)s)"
    " ORDER BY l.start_date, l.trip_id LIMIT %(limit)s"
)

# A time as pydantic writes it: UTC, "Z", microseconds (six digits) only when there are some.
_UTC_Z = (
    "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
    " || CASE WHEN date_part('microseconds', updated_at)::bigint %% 1000000 = 0 THEN ''"
    " ELSE to_char(updated_at AT TIME ZONE 'UTC', '.US') END || 'Z'"
)

# The page built by PostgreSQL as the API serves it, in one value (no row to decode): each
# item written as pydantic writes a TripSummary, byte for byte (compact, fields in order).
_ITEM = (
    """'{"user_id":' || to_json(user_id) || ',"trip_id":' || to_json(trip_id)"""
    """ || ',"role":' || to_json(role) || ',"title":' || to_json(title)"""
    """ || ',"start_date":' || to_json(start_date) || ',"end_date":' || to_json(end_date)"""
    """ || ',"status":' || to_json(status) || ',"version":' || version"""
    f""" || ',"updated_at":"' || {_UTC_Z} || '"}}'"""
)
_SERVED_LIST = (
    f"WITH listed AS ({_LISTED}),"
    " page AS (SELECT * FROM listed ORDER BY start_date, trip_id LIMIT %(shown)s)"
    f" SELECT '[' || coalesce(string_agg({_ITEM}, ',' ORDER BY start_date, trip_id), '') || ']',"
    " (SELECT count(*) FROM listed) > %(shown)s,"
    " coalesce(bool_or(parked), false),"
    " (array_agg(start_date ORDER BY start_date DESC, trip_id DESC))[1],"
    " (array_agg(trip_id ORDER BY start_date DESC, trip_id DESC))[1]"
    " FROM page"
)
