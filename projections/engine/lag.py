"""How far behind a projection is, from what its drivers record per lane (a topic partition,
or the event store's log): in events (the newest offset minus the one applied), in seconds
(since the oldest event it has not reached), and whether it is stalled (behind, and making
no progress, or no driver reporting, for longer than a limit). A projection that lets its
changes gather (`Projection.gather_seconds`) is behind by design after each write: it is not
called lagging while it is behind by less than twice its gathering time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Lane:
    lane: str
    applied: int
    head: int | None
    applied_event_at: datetime | None  # when the last event applied happened
    progressed_at: datetime  # when the applied offset last moved
    behind_since: datetime | None  # when the driver first saw the head ahead of it
    reported_at: datetime | None  # when the driver last reported the head

    @property
    def lag(self) -> int:
        return 0 if self.head is None else max(self.head - self.applied, 0)


@dataclass(frozen=True)
class ProjectionHealth:
    name: str
    version: int  # what the code declares
    built_version: int | None  # what the live tables hold
    lag_events: int
    lag_seconds: float
    parked: int  # aggregates parked
    dead_letters: int
    stalled: bool
    gather_seconds: float = 0.0

    @property
    def rebuilding(self) -> bool:
        return self.built_version != self.version

    @property
    def status(self) -> str:
        if self.stalled:
            return "stalled"
        if self.rebuilding:
            return "rebuilding"
        if self.parked:
            return "parked"
        if not self.lag_events or self.lag_seconds < 2 * self.gather_seconds:
            return "ok"
        return "lagging"


def projection_health(
    name: str,
    version: int,
    built_version: int | None,
    lanes: Sequence[Lane],
    *,
    parked: int,
    dead_letters: int,
    now: datetime,
    stall_after: timedelta,
    gather_seconds: float = 0.0,
) -> ProjectionHealth:
    behind = [lane for lane in lanes if lane.lag > 0]
    seconds = 0.0
    stalled = False
    for lane in behind:
        known = [t for t in (lane.applied_event_at, lane.behind_since) if t is not None]
        since = max(known) if known else lane.progressed_at
        seconds = max(seconds, (now - since).total_seconds())
        quiet = now - max(lane.progressed_at, lane.behind_since or lane.progressed_at)
        stalled = stalled or quiet > stall_after
    silent = [lane for lane in lanes if lane.reported_at and now - lane.reported_at > stall_after]
    return ProjectionHealth(
        name=name,
        version=version,
        built_version=built_version,
        lag_events=sum(lane.lag for lane in behind),
        lag_seconds=round(seconds, 3),
        parked=parked,
        dead_letters=dead_letters,
        stalled=stalled or (bool(silent) and len(silent) == len(lanes)),
        gather_seconds=gather_seconds,
    )
