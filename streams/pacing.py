"""How often a reader of the event store's log looks for new events."""

from __future__ import annotations


class Pacer:
    """Looks again at once after finding something; while nothing comes, waits `fastest`,
    then twice as long each time, up to `slowest`. So a burst is followed within a few
    milliseconds, and an idle log costs a query every `slowest` seconds."""

    def __init__(self, fastest: float = 0.001, slowest: float = 0.05) -> None:
        self._fastest = fastest
        self._slowest = slowest
        self._delay = 0.0

    @property
    def slowest(self) -> float:
        return self._slowest

    def found(self) -> None:
        self._delay = 0.0

    def idle(self) -> float:
        """The wait before the next look, after a look that found nothing."""
        self._delay = min(max(self._delay * 2, self._fastest), self._slowest)
        return self._delay
