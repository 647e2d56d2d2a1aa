"""Showing a rebuild's progress: a progress bar on a terminal (rich), plain lines otherwise
(CI logs, `serve` and `worker` logs), each with events done / total, rate and ETA."""

from __future__ import annotations

import logging
import sys
import time

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

log = logging.getLogger("itinera.rebuild")


class BarProgress:
    def __init__(self) -> None:
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>9} events/s"),
            TimeRemainingColumn(),
        )
        self._task: TaskID | None = None
        self._started = time.monotonic()
        self._done = 0

    def start(self, projection: str, total: int) -> None:
        self._bar.start()
        self._started = time.monotonic()
        self._task = self._bar.add_task(projection, total=total, rate="-")

    def advance(self, done: int) -> None:
        self._done += done
        if self._task is not None:
            rate = self._done / max(time.monotonic() - self._started, 1e-6)
            self._bar.update(self._task, advance=done, rate=f"{rate:,.0f}")

    def finish(self) -> None:
        self._bar.stop()


class LineProgress:
    """A line every `every` seconds: `<projection>: 12,000 / 50,000 events (24%), 31,000/s,
    ETA 1 s`."""

    def __init__(self, every: float = 2.0) -> None:
        self._every = every
        self._name = ""
        self._total = 0
        self._done = 0
        self._started = self._shown = time.monotonic()

    def start(self, projection: str, total: int) -> None:
        self._name, self._total, self._done = projection, total, 0
        self._started = self._shown = time.monotonic()
        log.info("%s: rebuilding from %s events", projection, f"{total:,}")

    def advance(self, done: int) -> None:
        self._done += done
        if time.monotonic() - self._shown >= self._every:
            self._shown = time.monotonic()
            log.info("%s", self._line())

    def finish(self) -> None:
        log.info("%s", self._line())

    def _line(self) -> str:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = self._done / elapsed
        share = f" ({self._done / self._total:.0%})" if self._total else ""
        left = max(self._total - self._done, 0)
        eta = f", ETA {left / rate:,.0f} s" if rate and left else ""
        return f"{self._name}: {self._done:,} / {self._total:,} events{share}, {rate:,.0f}/s{eta}"


def progress_display() -> BarProgress | LineProgress:
    return BarProgress() if sys.stderr.isatty() else LineProgress()
