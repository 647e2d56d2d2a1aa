"""Sync pulls and status on PostgreSQL, from the sync feed's tables (`sync_tables`) and the
sync log (migration 009).

A pull reads in one REPEATABLE READ snapshot: the trips the user is a member of (not
archived), each trip's head, and the rows after the cursor's position in each, ordered by
trip and position, up to the page size. Trips read to their head move the cursor to it; the
trip where the page ended moves to the last row it showed; later ones stay. Rows are one per
entity (compacted), so a page holds each entity once, in its latest state.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from infra.postgres.projections.sync_tables import EPOCH, FEED, HEADS, MEMBERS
from read_side.errors import SyncResetRequiredError
from read_side.sync import PLURAL, ClientStatus, PullPage, PullRequest, SyncStatus
from read_side.sync_cursor import SyncCursor

CHECKPOINT_SCAN = 10_000  # sync-log entries a pull looks through for its write checkpoint
LISTED = 100  # conflicts and rejections `status` lists


class PostgresSyncFeed:
    def __init__(self, pool: AsyncConnectionPool, timestamp_margin: timedelta) -> None:
        self._pool = pool
        # How far before a seed client's last_sync_timestamp a pull starts: longer than any
        # projection batch takes to commit, so a row stamped before it and committed after
        # it is not missed (a duplicate is harmless, a miss is not).
        self._margin = timestamp_margin

    async def epoch(self) -> UUID:
        async with self._pool.connection() as conn:
            return await _epoch(conn)

    async def pull(self, r: PullRequest) -> PullPage:
        async with self._pool.connection() as conn:
            async with conn.transaction():
                await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                page = await self._pull(conn, r)
            if r.client_id is not None:
                await conn.execute(
                    "INSERT INTO sync_clients (user_id, client_id, last_pull_at)"
                    " VALUES (%s, %s, now()) ON CONFLICT (user_id, client_id)"
                    " DO UPDATE SET last_pull_at = now()",
                    (r.user_id, r.client_id),
                )
        return page

    async def _pull(self, conn: AsyncConnection, r: PullRequest) -> PullPage:
        epoch = await _epoch(conn)
        cursor = r.cursor
        if cursor is not None and cursor.epoch != epoch:
            raise SyncResetRequiredError("The sync feed was rebuilt since this cursor")
        if cursor is not None and cursor.entity_types != r.entity_types:
            raise SyncResetRequiredError("This cursor was made for other entity_types")
        heads = await _visible(conn, r.user_id)
        since = None if r.since is None or cursor is not None else r.since - self._margin
        gone: list[UUID] = []
        if cursor is not None:
            starts = {t: cursor.positions.get(t, 0) for t in heads}
            fresh = {t for t in heads if t not in cursor.positions}
            gone = [t for t in cursor.positions if t not in heads]
        elif since is not None:
            starts = await _positions_before(conn, list(heads), since)
            fresh = set()
            gone = await _left_since(conn, r.user_id, since)
        else:
            starts = {t: 0 for t in heads}
            fresh = set(heads)
        behind = sorted(t for t in heads if starts.get(t, 0) < heads[t][0])
        rows = await _rows_after(conn, behind, starts, fresh, r.entity_types, r.limit + 1)
        has_more = len(rows) > r.limit
        shown, next_row = rows[: r.limit], (rows[r.limit] if has_more else None)
        positions = dict(starts)
        for row in shown:
            positions[row["trip_id"]] = row["pos"]
        for t in heads:
            if next_row is None or t < next_row["trip_id"]:
                positions[t] = heads[t][0]
        drained = {t for t in heads if positions[t] == heads[t][0]}
        entities: dict[str, list[Any]] = {p: [] for p in PLURAL.values()}
        deleted: dict[str, list[str]] = {p: [] for p in PLURAL.values()}
        for row in shown:
            if row["deleted"]:
                deleted[PLURAL[row["entity_type"]]].append(str(row["entity_id"]))
            else:
                # The stored JSON as it is: no decoding into objects to encode them again.
                entities[PLURAL[row["entity_type"]]].append(orjson.Fragment(row["data"]))
        deleted["trips"] += [str(t) for t in gone]
        if has_more:
            stamp = await _oldest_unseen(conn, positions, r.entity_types)
        else:
            now = await (await conn.execute("SELECT now()")).fetchone()
            assert now is not None
            stamp = now[0]
        acked = cursor.acked if cursor is not None else 0
        checkpoint, acked = await _checkpoint(conn, r, acked, heads, drained)
        return PullPage(
            entities=entities,
            deleted=deleted,
            cursor=SyncCursor(
                user_id=r.user_id,
                epoch=epoch,
                entity_types=r.entity_types,
                positions={t: positions[t] for t in heads},
                acked=acked,
            ),
            has_more=has_more,
            sync_timestamp=stamp,
            checkpoint=checkpoint,
            checkpoint_entry=acked,
        )

    async def status(self, user_id: UUID, client_id: str | None) -> SyncStatus:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            clients = await (
                await cur.execute(
                    "SELECT c.client_id, c.last_push_at, c.last_pull_at,"
                    " count(*) FILTER (WHERE l.status = 'conflict' AND NOT l.resolved) AS pending,"
                    " count(*) FILTER (WHERE l.status = 'error') AS rejected"
                    " FROM sync_clients c LEFT JOIN sync_log l"
                    " ON l.user_id = c.user_id AND l.client_id = c.client_id"
                    " WHERE c.user_id = %(u)s AND (%(c)s::text IS NULL OR c.client_id = %(c)s)"
                    " GROUP BY c.client_id, c.last_push_at, c.last_pull_at ORDER BY c.client_id",
                    {"u": user_id, "c": client_id},
                )
            ).fetchall()
            conflicts = await (
                await cur.execute(
                    "SELECT conflict_id, client_id, mutation_id, entity_type, entity_id, action,"
                    " fields, client_data, server_data, server_timestamp FROM sync_log"
                    " WHERE user_id = %(u)s AND status = 'conflict' AND NOT resolved"
                    " AND (%(c)s::text IS NULL OR client_id = %(c)s) ORDER BY id LIMIT %(n)s",
                    {"u": user_id, "c": client_id, "n": LISTED},
                )
            ).fetchall()
            rejected = await (
                await cur.execute(
                    "SELECT client_id, mutation_id, entity_type, entity_id, action, code, message,"
                    " client_data, server_timestamp FROM sync_log"
                    " WHERE user_id = %(u)s AND status = 'error'"
                    " AND (%(c)s::text IS NULL OR client_id = %(c)s) ORDER BY id DESC LIMIT %(n)s",
                    {"u": user_id, "c": client_id, "n": LISTED},
                )
            ).fetchall()
            trips = await (
                await cur.execute(
                    f"SELECT h.trip_id, h.trip_version AS version,"
                    f" (SELECT encode(sha256(convert_to(coalesce(string_agg("
                    f"   f.entity_type || ':' || f.entity_id || ':' || f.version, E'\\n'"
                    f"   ORDER BY f.entity_id), ''), 'UTF8')), 'hex')"
                    f"  FROM {FEED} f WHERE f.trip_id = h.trip_id AND NOT f.deleted) AS checksum"
                    f" FROM {MEMBERS} m JOIN {HEADS} h USING (trip_id)"
                    f" WHERE m.user_id = %s AND m.member AND NOT h.archived ORDER BY h.trip_id",
                    (user_id,),
                )
            ).fetchall()
        return SyncStatus(
            clients=[
                ClientStatus(
                    client_id=c["client_id"],
                    last_push_at=c["last_push_at"],
                    last_pull_at=c["last_pull_at"],
                    pending_conflicts=int(c["pending"]),
                    rejected=int(c["rejected"]),
                )
                for c in clients
            ],
            conflicts=list(conflicts),
            rejected=list(rejected),
            trips=list(trips),
        )


async def _epoch(conn: AsyncConnection) -> UUID:
    row = await (await conn.execute(f"SELECT epoch FROM {EPOCH}")).fetchone()
    assert row is not None, "the sync feed's tables are created with their epoch"
    return UUID(str(row[0]))


async def _visible(conn: AsyncConnection, user_id: UUID) -> dict[UUID, tuple[int, int]]:
    """The trips the user may pull: each one's head position and trip version."""
    cursor = await conn.execute(
        f"SELECT h.trip_id, h.pos, h.trip_version FROM {MEMBERS} m JOIN {HEADS} h USING (trip_id)"
        " WHERE m.user_id = %s AND m.member AND NOT h.archived",
        (user_id,),
    )
    return {row[0]: (int(row[1]), int(row[2])) for row in await cursor.fetchall()}


async def _positions_before(
    conn: AsyncConnection, trips: list[UUID], before: datetime
) -> dict[UUID, int]:
    """Per trip, the last position written before `before` (0: none)."""
    cursor = await conn.execute(
        f"SELECT trip_id, max(pos) FROM {FEED} WHERE trip_id = ANY(%s) AND changed_at < %s"
        " GROUP BY trip_id",
        (trips, before),
    )
    found = {row[0]: int(row[1]) for row in await cursor.fetchall()}
    return {t: found.get(t, 0) for t in trips}


async def _left_since(conn: AsyncConnection, user_id: UUID, since: datetime) -> list[UUID]:
    """Trips the user left, or saw archived, since `since`: to purge."""
    cursor = await conn.execute(
        f"SELECT m.trip_id FROM {MEMBERS} m JOIN {HEADS} h USING (trip_id)"
        f" LEFT JOIN {FEED} f ON f.entity_id = m.trip_id"
        " WHERE m.user_id = %(u)s AND ((NOT m.member AND m.changed_at >= %(s)s)"
        " OR (m.member AND h.archived AND f.changed_at >= %(s)s))",
        {"u": user_id, "s": since},
    )
    return [row[0] for row in await cursor.fetchall()]


async def _rows_after(
    conn: AsyncConnection,
    trips: list[UUID],
    starts: dict[UUID, int],
    fresh: set[UUID],
    types: tuple[str, ...],
    limit: int,
) -> list[dict[str, Any]]:
    """Rows after each trip's start, by trip and position; a trip new to the client gets no
    tombstones (it has nothing to purge)."""
    if not trips:
        return []
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        f"SELECT f.trip_id, f.pos, f.entity_type, f.entity_id, f.deleted, f.data::text"
        f" FROM unnest(%s::uuid[], %s::bigint[], %s::boolean[]) AS s(trip_id, after, fresh)"
        f" CROSS JOIN LATERAL (SELECT * FROM {FEED} f WHERE f.trip_id = s.trip_id"
        f"   AND f.pos > s.after AND f.entity_type = ANY(%s) AND NOT (s.fresh AND f.deleted)"
        f"   ORDER BY f.pos LIMIT %s) f"
        f" ORDER BY f.trip_id, f.pos LIMIT %s",
        (trips, [starts[t] for t in trips], [t in fresh for t in trips], list(types), limit, limit),
    )
    return await cursor.fetchall()


async def _trip_versions(conn: AsyncConnection, trips: list[UUID]) -> dict[UUID, int]:
    """The version the feed has reached of each trip (whoever may see it)."""
    if not trips:
        return {}
    cursor = await conn.execute(
        f"SELECT trip_id, trip_version FROM {HEADS} WHERE trip_id = ANY(%s)", (trips,)
    )
    return {row[0]: int(row[1]) for row in await cursor.fetchall()}


async def _oldest_unseen(
    conn: AsyncConnection, positions: dict[UUID, int], types: tuple[str, ...]
) -> datetime:
    """When the oldest row not yet shown was written: a seed client that only keeps the
    timestamp starts there next time, and misses nothing."""
    trips = list(positions)
    cursor = await conn.execute(
        f"SELECT min(f.changed_at) FROM unnest(%s::uuid[], %s::bigint[]) AS s(trip_id, after)"
        f" JOIN {FEED} f ON f.trip_id = s.trip_id AND f.pos > s.after"
        " WHERE f.entity_type = ANY(%s)",
        (trips, [positions[t] for t in trips], list(types)),
    )
    row = await cursor.fetchone()
    assert row is not None and row[0] is not None, "a page with more has rows after it"
    return row[0] - timedelta(microseconds=1)  # type: ignore[no-any-return]


async def _checkpoint(
    conn: AsyncConnection,
    r: PullRequest,
    acked: int,
    heads: dict[UUID, tuple[int, int]],
    drained: set[UUID],
) -> tuple[str | None, int]:
    """The client's last mutation whose effects this page completes, and its log entry: the
    changes it pushed are walked in the order they arrived, until one is not in yet (a trip
    not read to its head, or whose head is older than the change's version; a trip created
    offline that the feed has not reached yet). A change to a trip the user can no longer
    see counts once the feed has it: the pull told the client to purge that trip."""
    if r.client_id is None:
        return None, acked
    cur = conn.cursor(row_factory=dict_row)
    entries = await (
        await cur.execute(
            "SELECT l.id, l.status, l.entity_type, l.trip_id, l.version, m.version AS shown"
            f" FROM sync_log l LEFT JOIN {FEED} m ON l.entity_type = 'message'"
            "  AND m.entity_id = (l.extra->>'server_id')::uuid"
            " WHERE l.user_id = %s AND l.client_id = %s AND l.id > %s ORDER BY l.id LIMIT %s",
            (r.user_id, r.client_id, acked, CHECKPOINT_SCAN),
        )
    ).fetchall()
    unseen = {e["trip_id"] for e in entries if e["status"] == "applied"} - set(heads)
    elsewhere = await _trip_versions(conn, list(unseen))
    for entry in entries:
        if entry["status"] == "applied":
            trip, message = entry["trip_id"], entry["entity_type"] == "message"
            if trip in heads:  # in the page: once read to the head, at the change's version
                reached = entry["shown"] if message else heads[trip][1]
                if trip not in drained or reached is None or reached < entry["version"]:
                    break
            else:  # not visible: the feed has it and the user left, or it is yet to come
                reached = entry["shown"] if message else elsewhere.get(trip)
                if reached is None or reached < entry["version"]:
                    break
        acked = entry["id"]
    found = await (
        await conn.execute(
            "SELECT mutation_id FROM sync_log WHERE user_id = %s AND client_id = %s"
            " AND id <= %s AND mutation_id IS NOT NULL ORDER BY id DESC LIMIT 1",
            (r.user_id, r.client_id, acked),
        )
    ).fetchone()
    return (None if found is None else str(found[0])), acked
