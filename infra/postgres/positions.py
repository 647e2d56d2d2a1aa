"""The relay's position in the notification log, and the lock that keeps one relay active."""

from __future__ import annotations

import logging

import psycopg

log = logging.getLogger(__name__)

_RELAY_LOCK_KEY = 0x1E1A7


class PostgresPositionStore:
    def __init__(self, conninfo: str) -> None:
        self._conn = psycopg.connect(conninfo, autocommit=True)

    def load(self, name: str) -> int:
        row = self._conn.execute(
            "SELECT position FROM stream_positions WHERE name = %s", (name,)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def save(self, name: str, position: int) -> None:
        self._conn.execute(
            "INSERT INTO stream_positions (name, position) VALUES (%s, %s)"
            " ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            (name, position),
        )

    def wait_until_sole_relay(self) -> None:
        """Block until no other relay runs on this event store. A second relay is a hot
        standby: it takes over when the first one's session ends (crash included)."""
        got = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (_RELAY_LOCK_KEY,)).fetchone()
        if got is None or not got[0]:
            log.warning("another relay is active; standing by")
            self._conn.execute("SELECT pg_advisory_lock(%s)", (_RELAY_LOCK_KEY,))
        log.info("this relay is the active one")

    def close(self) -> None:
        self._conn.close()
