"""Notices the death of a process we depend on but do not own as a child (the embedded
PostgreSQL is started by `pg_ctl` and belongs to init), so that `serve` stops instead of
answering every request with a database error."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType

CHECK_EVERY_SECONDS = 1.0


class ProcessWatchdog:
    """While entered, asks `is_alive` every `interval` seconds from a daemon thread; the first
    time it says no, sets `tripped` and calls `on_death` (once, from that thread)."""

    def __init__(
        self,
        is_alive: Callable[[], bool],
        on_death: Callable[[], None],
        interval: float = CHECK_EVERY_SECONDS,
    ) -> None:
        self._is_alive = is_alive
        self._on_death = on_death
        self._interval = interval
        self._stopped = threading.Event()
        self._tripped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="process-watchdog", daemon=True)

    @property
    def tripped(self) -> bool:
        return self._tripped.is_set()

    def __enter__(self) -> ProcessWatchdog:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopped.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stopped.wait(self._interval):
            if not self._is_alive():
                self._tripped.set()
                self._on_death()
                return
