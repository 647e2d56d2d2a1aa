"""A position in the event store's notification log.

Writers insert in parallel, so notification ids are not committed in order: an id below one
already read can still commit. The log is therefore read in (transaction id, notification id)
order, and only below the oldest transaction still in progress: every event a reader has not
yet seen sorts after its position. A position is that pair. Events recorded before positions
had a transaction part sort as (0, notification id), in their old order, before every newer
event.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

from eventsourcing.persistence import Notification


class LogPosition(NamedTuple):
    """Ordered as the log is read: by transaction id, then notification id."""

    transaction: int
    notification: int

    def __str__(self) -> str:
        return f"{self.transaction}:{self.notification}"


START = LogPosition(0, 0)  # before every event


@runtime_checkable
class PositionedLog(Protocol):
    """A recorder that reads its notifications in position order (the PostgreSQL one).
    Recorders without it (in memory, in tests) commit in id order: their transaction part is 0.
    """

    def notifications_after(
        self, position: LogPosition, limit: int
    ) -> list[tuple[LogPosition, Notification]]:
        """The next readable notifications after `position`, in position order."""
        ...

    def readable_head(self) -> LogPosition:
        """The newest readable position (START when there is none)."""
        ...

    def recorded_head(self) -> LogPosition:
        """The newest committed position, readable or not yet (START when there is none)."""
        ...

    def count_after(self, position: LogPosition, at_most: int) -> int:
        """How many events are recorded after `position` (readable or not yet), counting
        no further than `at_most`."""
        ...
