"""Housekeeping: the purge of rows PostgreSQL keeps only for a time, and its timer.

A row is purged only once every reader already treats it as absent, judged by the same
clock the stores compare with (the database's `now()`), so a purge never changes an answer:

- `revoked_tokens` (`expires_at`): a logged-out access token, or a spent single-use token.
  WebSocket tickets are signed, stateless JWTs; their single use is such a row, kept the
  ticket's lifetime plus the leeway. Past `expires_at` the token no longer verifies at all,
  and `is_revoked` / `spend_token` already read the row as absent.
- `revoked_subjects` (`expires_at`): a user's tokens issued before a cut-off; past
  `expires_at` (the longest token lifetime) none of them is valid anyway, and the durable
  cut-off is the credentials projection's, not this row.
- `token_families` (`expires_at`): a refresh-token family; past it, its tokens have expired
  and `rotate_family` reads the family as absent.
- `planner_draft_cache` (`made_at` + ITINERA_PLANNER_CACHE_SECONDS): an older draft never
  answers a request again (`get` compares with `now()`); with the cache off (0), no row does.
  The window is the purging process's setting: give every role the same one (a shorter one
  only costs a model call, never a wrong answer).

The revocation store and the draft cache also delete a few expired rows as they write; this
purge is what keeps the tables small when nobody logs in or asks for a draft.

Kept, though they may look like it:

- Idempotency keys. Since migration 008 a key is a `CommandRecord` aggregate in the event
  store (write_side/trips/command_record.py), saved in one atomic write with its command's
  events. The event store is append-only (the source of truth that rebuilds, the relay and
  the projections read by position): nothing is ever deleted from it, so a retry, however
  late, gets the first answer. The seed's `idempotency_keys` table, the one key store that
  had an age, was dropped by migration 008. Sync mutation ids are command records too.
- The sync log (`sync_log`, `sync_conflict_resolutions`, `sync_clients`): no time to live.
  A change's row answers a retry of its mutation id (`PostgresSyncLog.record` counts on it
  being there for good), open conflicts and rejections are listed by `sync/status`, and a
  pull's write checkpoint walks the client's rows from the last one it acknowledged (from
  the first, for a pull without a cursor).
- Sync feed tombstones. "Kept at least ITINERA_SYNC_CURSOR_TTL_DAYS" is a floor, not an
  expiry: a seed client's `last_sync_timestamp` pull is not bounded by that time, a write
  checkpoint compares a pushed message with the message's feed row (its tombstone, once
  deleted), and the feed is a projection, which must stay what a rebuild makes.

Each table is purged in batches of `batch_size` rows, each batch one short transaction: a
row locked by a request (a refresh rotating its family) is skipped, not waited for, and a
row renewed since the batch began is kept. Deleting is idempotent, so purges
running at once (several workers) are safe; an advisory lock lets one run at a time, and
the others skip their turn.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql

from infra.database import require_database_url
from infra.observability.metrics import HOUSEKEEPING_PURGED
from infra.settings import Settings

log = logging.getLogger(__name__)

BATCH_SIZE = 5000
FIRST_RUN_AFTER = 30.0  # seconds after start: once starting (catch-up, rebuilds) is done
CONNECT_TIMEOUT = 10  # seconds: an unreachable database fails this run, not the timer
_LOCK_KEY = "itinera:housekeeping"


@dataclass(frozen=True)
class Expiring:
    """A table whose rows expire: `expired` selects them, through the table's expiry index."""

    table: str
    expired: sql.Composable
    params: tuple[Any, ...] = ()


@dataclass(frozen=True)
class PurgeReport:
    """Rows deleted per table; `ran` is False when another purge held the lock."""

    purged: dict[str, int] = field(default_factory=dict)
    ran: bool = True
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.purged.values())


def expiring_tables(settings: Settings) -> tuple[Expiring, ...]:
    """What expires in PostgreSQL, with the condition each store already reads as absent."""
    past_expiry = sql.SQL("expires_at <= now()")
    return (
        Expiring("revoked_tokens", past_expiry),
        Expiring("revoked_subjects", past_expiry),
        Expiring("token_families", past_expiry),
        Expiring(
            "planner_draft_cache",
            sql.SQL("made_at <= now() - %s"),
            (timedelta(seconds=settings.planner_cache_seconds),),
        ),
    )


async def purge_table(
    conn: AsyncConnection[Any], expiring: Expiring, batch_size: int = BATCH_SIZE
) -> int:
    """Delete `expiring`'s expired rows, `batch_size` at a time (each batch commits on its
    own: `conn` must be in autocommit); how many went."""
    if not conn.autocommit:
        raise ValueError("housekeeping needs an autocommit connection: each batch commits")
    # FOR UPDATE checks the condition again on a row's latest version (a refresh may have
    # just renewed it) and locks what it returns until the DELETE; SKIP LOCKED passes over
    # rows a request holds. The DELETE then finds its rows by ctid (a TID scan), not by a
    # second look through the expiry index.
    statement = sql.SQL(
        "DELETE FROM {table} WHERE ctid = ANY(ARRAY("
        "SELECT ctid FROM {table} WHERE {expired} LIMIT {batch} FOR UPDATE SKIP LOCKED))"
    ).format(
        table=sql.Identifier(expiring.table),
        expired=expiring.expired,
        batch=sql.Literal(batch_size),
    )
    deleted = 0
    while True:
        cursor = await conn.execute(statement, expiring.params)
        deleted += cursor.rowcount
        if cursor.rowcount < batch_size:
            return deleted


async def purge_expired(
    conn: AsyncConnection[Any], settings: Settings, *, batch_size: int = BATCH_SIZE
) -> PurgeReport:
    """One purge of every expiring table, unless another is running; counted in
    `itinera_housekeeping_purged_rows` and logged in one line (counts only)."""
    started = time.monotonic()
    locked = await conn.execute(
        "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (_LOCK_KEY,)
    )
    row = await locked.fetchone()
    if row is None or not row[0]:
        log.info("housekeeping: another purge is running; this one is skipped")
        return PurgeReport(ran=False)
    purged: dict[str, int] = {}
    try:
        for expiring in expiring_tables(settings):
            purged[expiring.table] = await purge_table(conn, expiring, batch_size)
            HOUSEKEEPING_PURGED.labels(expiring.table).inc(purged[expiring.table])
    finally:
        if not conn.broken:  # a broken connection took its lock with it
            await conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (_LOCK_KEY,))
    report = PurgeReport(purged, seconds=time.monotonic() - started)
    log.info(
        "housekeeping: purged %d expired rows (%s) in %.2f s",
        report.total,
        ", ".join(f"{table}={count}" for table, count in purged.items()),
        report.seconds,
        extra={"purged_rows": purged},
    )
    return report


async def purge_now(settings: Settings, *, batch_size: int = BATCH_SIZE) -> PurgeReport:
    """One purge on a connection of its own, closed after it (which also frees the lock,
    whatever happened)."""
    async with await AsyncConnection.connect(
        require_database_url(settings), autocommit=True, connect_timeout=CONNECT_TIMEOUT
    ) as conn:
        return await purge_expired(conn, settings, batch_size=batch_size)


class PeriodicPurge:
    """Runs `purge` every `every` seconds, the first time `first_after` seconds after it is
    made (or `every`, if sooner).

    `tick` purges only when due, so a timer that fires more often can call it (the worker's
    ticks come every ITINERA_REMINDER_CHECK_SECONDS); `run` is a loop of its own (embedded
    mode). A failed purge is logged and waits for its next turn: expired rows are already
    absent to every reader, so they can wait.
    """

    def __init__(
        self,
        purge: Callable[[], Awaitable[PurgeReport]],
        every: float,
        *,
        first_after: float = FIRST_RUN_AFTER,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._purge = purge
        self.every = every
        self._clock = clock
        self._sleep = sleep
        self._due = clock() + min(first_after, every)

    async def tick(self) -> None:
        now = self._clock()
        if now < self._due:
            return
        self._due = now + self.every
        try:
            await self._purge()
        except (psycopg.Error, OSError) as error:  # the database is down or unreachable
            log.warning("housekeeping: purge failed, next in %g s: %s", self.every, error)
        except Exception:  # a bug: say so loudly; the next turn tries again
            log.exception("housekeeping: purge failed")

    async def run(self) -> None:
        while True:
            await self.tick()
            await self._sleep(max(self._due - self._clock(), 0.0))


def periodic_purge(settings: Settings) -> PeriodicPurge:
    """The purge every ITINERA_HOUSEKEEPING_SECONDS, for the worker and embedded mode."""
    return PeriodicPurge(partial(purge_now, settings), settings.housekeeping_seconds)
