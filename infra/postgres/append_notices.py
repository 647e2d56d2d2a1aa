"""The event store's notice of an append (a NOTIFY on the events table's channel), sent after
the append committed, by a thread of its own.

Inside the insert's transaction, a NOTIFY holds PostgreSQL's one notification lock from the
start of that commit to its end, WAL flush included: concurrent appends committed one at a
time (at 16 writers, 41% of a raw INSERT's rate against 58% without it). Sent in a
transaction of its own after each append, the extra round trips cost more than they saved.
Here an append only raises a flag; the thread sends one notice for every append committed
before it looked, so a burst of appends costs one notice, and an append committed while a
notice was on its way is announced by the next one.

Notices are at least `SPACING` apart. Under a steady stream of appends the thread otherwise
sent one after another: a single writer's every append cost a second round trip and a
second wake-up (896 against 494 us an append, wall clock), and 16 writers kept a core busy
with notices. An append after a quiet moment is announced at once; one in a stream waits at
most `SPACING` more, a small part of what a reader takes to act on it.

A notice that cannot be sent is logged: the log's readers (the relay, the embedded
projector) look anyway every ITINERA_RELAY_POLL_INTERVAL. Once the event store is closed (its
process is stopping) nothing is sent any more and the thread ends, without a warning: the
other processes' readers find the last appends at their next look.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

import psycopg
from eventsourcing.persistence import PersistenceError
from psycopg.sql import SQL, Identifier

log = logging.getLogger(__name__)

SPACING = 0.005  # seconds between two notices, at least


class Connection(Protocol):
    """What a notice needs of a psycopg connection."""

    def execute(self, query: Any) -> object: ...

    def commit(self) -> None: ...


Connect = Callable[[], AbstractContextManager[Connection]]


class AppendNotices:
    def __init__(
        self,
        connect: Connect,
        channel: str,
        closed: Callable[[], bool] = lambda: False,
        *,
        spacing: float = SPACING,
    ) -> None:
        self._connect = connect  # a pooled connection, in a transaction the notice commits
        self._closed = closed  # whether the event store (and its pool) was closed
        self._notify = SQL("NOTIFY {}").format(Identifier(channel))
        self._spacing = spacing
        self._due = threading.Event()
        self._starting = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def announce(self) -> None:
        """Events were committed: a notice follows."""
        if not self._due.is_set():  # setting it takes a lock and wakes: not for each append
            self._due.set()
        if self._thread is None or self._pid != os.getpid():  # none yet, or forked
            with self._starting:
                if self._thread is None or self._pid != os.getpid():
                    self._pid = os.getpid()
                    self._thread = threading.Thread(
                        target=self._run, name="append-notices", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        sent = float("-inf")
        while True:
            self._due.wait()
            time.sleep(max(0.0, sent + self._spacing - time.monotonic()))
            sent = time.monotonic()
            self._due.clear()  # before sending: what commits from now on gets another
            if self._closed():
                return
            try:
                with self._connect() as conn:
                    conn.execute(self._notify)
                    conn.commit()
            except (psycopg.Error, PersistenceError, OSError) as error:
                # Not sent again: the readers' own looks find these events.
                log.warning("append notice not sent (readers will poll): %s", error)
