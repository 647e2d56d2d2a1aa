"""The relay: event store notification log → Kafka, at least once, in order per aggregate.

It publishes a batch, waits until the broker acknowledged every message, and only then moves
its recorded position. A crash between the two re-publishes the batch; consumers skip what
they have already applied (aggregate id + version), so the effect is exactly once.

One relay is active per event store: it holds a lock, and saves its position only while it
still holds it. When the connection that holds the lock fails (the database restarted, the
network dropped), the relay stops publishing until it has the lock again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from streams.outbox import OutboxBatch, OutboxMessage
from streams.pacing import Pacer
from streams.position import LogPosition

log = logging.getLogger(__name__)

RELAY_POSITION = "relay"
MAX_BACKOFF_SECONDS = 5.0
# The longest the relay waits for a notice while idle before it looks at `stop` again: a
# stop is noticed this fast even when the poll interval is long.
STOP_CHECK_SECONDS = 0.5


class LockLostError(RuntimeError):
    """This relay no longer holds the active relay's lock: it must not publish."""


class BatchPublisher(Protocol):
    def publish(self, messages: list[OutboxMessage]) -> None:
        """Send in order; return only once the broker acknowledged all; raise otherwise."""


class PositionStore(Protocol):
    def load(self, name: str) -> LogPosition:
        """The saved position (START when none is)."""
        ...

    def save(self, name: str, position: LogPosition) -> None:
        """Record the position; raises LockLostError unless this relay holds the lock."""
        ...

    def reacquire(self, stop: threading.Event) -> None:
        """Connect again and wait for the lock (another relay may have taken over)."""
        ...


class NotificationSource(Protocol):
    def read_after(self, position: LogPosition, limit: int) -> OutboxBatch: ...


class NewEvents(Protocol):
    def wait(self, timeout: float) -> None:
        """Return when events may have been appended (a notice), or after `timeout`."""
        ...


class Relay:
    def __init__(
        self,
        source: NotificationSource,
        publisher: BatchPublisher,
        positions: PositionStore,
        *,
        batch_size: int = 500,
        pacer: Pacer | None = None,
        new_events: NewEvents | None = None,
        took_over: Callable[[int], None] | None = None,
    ) -> None:
        """`took_over` is told the notification id of the position this relay resumes from
        each time it becomes the active one (at start, and after it lost the lock and won it
        again)."""
        self._source = source
        self._publisher = publisher
        self._positions = positions
        self._batch_size = batch_size
        self._pacer = pacer or Pacer()
        self._new_events = new_events
        self._took_over = took_over or (lambda position: None)
        self._position: LogPosition | None = None
        self._waiting = False  # the last read found events committed behind an open one

    def relay_once(self) -> int:
        """Publish the next batch; returns how many notifications it covered."""
        if self._position is None:
            self._position = self._positions.load(RELAY_POSITION)
        position = self._position
        batch = self._source.read_after(position, self._batch_size)
        self._waiting = batch.waiting
        if batch.read == 0:
            return 0
        if batch.messages:
            self._publisher.publish(batch.messages)
        self._positions.save(RELAY_POSITION, batch.last_position)
        self._position = batch.last_position
        log.debug("relayed up to %s (%d messages)", batch.last_position, len(batch.messages))
        return batch.read

    def run(self, stop: threading.Event) -> None:
        """Relay until `stop` is set. It is looked at between batches only: a batch read is
        published and its position saved before `run` returns (a stop while idle is seen
        within STOP_CHECK_SECONDS)."""
        start = self._positions.load(RELAY_POSITION)
        log.info("relay starting from position %s", start)
        self._took_over(start.notification)
        backoff = 0.05
        while not stop.is_set():
            try:
                covered = self.relay_once()
            except LockLostError as error:
                log.error("relay stopped publishing: %s; waiting for the lock again", error)
                self._position = None
                self._positions.reacquire(stop)
                if not stop.is_set():
                    self._took_over(self._positions.load(RELAY_POSITION).notification)
                continue
            except Exception:
                # Broker or database unreachable: nothing moved, so retry the same batch.
                log.exception("relay batch failed; retrying in %.2f s", backoff)
                self._position = None
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            backoff = 0.05
            if covered:
                self._pacer.found()
            elif self._waiting:
                # Committed events wait behind an older transaction: its end sends no
                # notice, so look again soon (backing off from a millisecond).
                stop.wait(self._pacer.idle())
            elif self._new_events is not None:
                self._new_events.wait(min(self._pacer.slowest, STOP_CHECK_SECONDS))
            else:
                stop.wait(self._pacer.idle())
        log.info("relay stopped at position %s", self._position)
