"""Wake-ups from the event store: its insert function sends a NOTIFY on the events table's
channel with every append (eventsourcing's function; the notice goes out at commit). A log
reader listening there looks again at once, instead of polling an idle log."""

from __future__ import annotations

import logging
import time

import psycopg

log = logging.getLogger(__name__)


class NewEventNotices:
    """For the relay (blocking): `wait` returns on the next notice or after the timeout.
    A lost connection is opened again; meanwhile `wait` just sleeps (the caller polls)."""

    def __init__(self, conninfo: str, channel: str) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._conn: psycopg.Connection | None = None

    def wait(self, timeout: float) -> None:
        try:
            conn = self._listening()
            for _ in conn.notifies(timeout=timeout, stop_after=1):
                pass
        except psycopg.Error as error:
            log.warning("event store notices lost (%s); polling until they are back", error)
            self._close()
            time.sleep(timeout)

    def _listening(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
            self._conn.execute(f'LISTEN "{self._channel}"')
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        self._close()
