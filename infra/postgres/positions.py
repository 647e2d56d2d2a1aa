"""The relay's position in the notification log, and the lock that keeps one relay active.

A position is a (transaction id, notification id) pair (streams/position.py), saved in
`stream_positions` as `transaction_id` and `position`.

The lock is a session-level advisory lock on this store's own connection (TCP keepalives on,
so a silent network loss is noticed). A position is saved by one statement that also checks
the lock is still held by this session; any error on the connection means the lock may be
gone, and the relay stops publishing until `reacquire` has it again.
"""

from __future__ import annotations

import logging
import threading

import psycopg

from streams.position import START, LogPosition
from streams.relay import LockLostError

log = logging.getLogger(__name__)

_RELAY_LOCK_KEY = 0x1E1A7
_HOLDS_LOCK = (
    "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    f" AND pid = pg_backend_pid() AND classid = 0 AND objid = {_RELAY_LOCK_KEY}"
    " AND objsubid = 1)"
)
MAX_RECONNECT_SECONDS = 5.0


class PostgresPositionStore:
    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._conn = self._connect()

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=5,
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        )

    def load(self, name: str) -> LogPosition:
        try:
            row = self._conn.execute(
                "SELECT transaction_id, position FROM stream_positions WHERE name = %s", (name,)
            ).fetchone()
        except psycopg.Error as error:
            raise LockLostError(f"lock connection failed: {error}") from error
        return START if row is None else LogPosition(int(row[0]), int(row[1]))

    def save(self, name: str, position: LogPosition) -> None:
        try:
            saved = self._conn.execute(
                "INSERT INTO stream_positions (name, transaction_id, position)"
                f" SELECT %s, %s, %s WHERE {_HOLDS_LOCK}"
                " ON CONFLICT (name) DO UPDATE SET transaction_id = excluded.transaction_id,"
                " position = excluded.position",
                (name, position.transaction, position.notification),
            ).rowcount
        except psycopg.Error as error:
            raise LockLostError(f"lock connection failed: {error}") from error
        if saved != 1:
            raise LockLostError("this session no longer holds the relay lock")

    def wait_until_sole_relay(self) -> None:
        """Block until no other relay runs on this event store. A second relay is a hot
        standby: it takes over when the first one's session ends (crash included)."""
        got = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (_RELAY_LOCK_KEY,)).fetchone()
        if got is None or not got[0]:
            log.warning("another relay is active; standing by")
            self._conn.execute("SELECT pg_advisory_lock(%s)", (_RELAY_LOCK_KEY,))
        log.info("this relay is the active one")

    def reacquire(self, stop: threading.Event) -> None:
        delay = 0.1
        while not stop.is_set():
            try:
                self._conn.close()
                self._conn = self._connect()
                self.wait_until_sole_relay()
                return
            except psycopg.Error as error:
                log.warning("cannot reach PostgreSQL for the relay lock (%s); retrying", error)
                stop.wait(delay)
                delay = min(delay * 2, MAX_RECONNECT_SECONDS)

    def close(self) -> None:
        self._conn.close()
