"""Timing one day: meals and check-ins at their hours first, then the other tasks as a tour
in nearest-neighbour order, each at the earliest free time, never over anything busy (as
UTC instants, so a booked flight in another zone counts) and with a buffer around it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from write_side.planner.activity_times import BUFFER, GRID_MINUTES, Window
from write_side.planner.draft_rules import Span
from write_side.planner.drafting import Idea, Place
from write_side.planner.wall_clock import existing, instant, wall_not_before, zone_named

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Task:
    """An idea to time at a place: how long, within which hours (alternatives, in order of
    preference), and where (its own coordinates, else its place's)."""

    idea: Idea
    place: Place
    minutes: int
    windows: tuple[Window, ...]
    fixed: bool

    @property
    def point(self) -> tuple[float, float]:
        if self.idea.lat is not None and self.idea.lng is not None:
            return self.idea.lat, self.idea.lng
        return self.place.lat, self.place.lng


@dataclass(frozen=True)
class Segment:
    """The part of a day spent at one place."""

    place: Place
    window: Window


@dataclass(frozen=True)
class Stop:
    """A task given its wall-clock times (in its place's zone) and its instants."""

    task: Task
    start: datetime
    end: datetime
    span: Span


def kilometres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The great-circle (haversine) distance between two (lat, lng) points."""
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def tour(tasks: Sequence[Task], start: tuple[float, float]) -> list[Task]:
    """The tasks in nearest-neighbour order from a point (ties: the earlier task)."""
    left, ordered, here = list(tasks), [], start
    while left:
        nearest = min(left, key=lambda task: kilometres(here, task.point))
        left.remove(nearest)
        ordered.append(nearest)
        here = nearest.point
    return ordered


def lay_out(
    day: date, plan: Sequence[tuple[Segment, Sequence[Task]]], busy: Sequence[Span]
) -> list[Stop] | None:
    """A time for every task of the day (each with its segment), or None if one finds no
    free time. Tasks are tried in the order given; the flexible ones of a segment follow
    each other as a tour, or, when the tour does not fit, take the earliest time each."""
    taken = list(busy)
    stops: list[Stop] = []
    for segment, tasks in plan:
        for task in (task for task in tasks if task.fixed):
            stop = _earliest(day, segment, task, taken)
            if stop is None:
                return None
            stops.append(stop)
            taken.append(stop.span)
        here = (segment.place.lat, segment.place.lng)
        flexible = tour([task for task in tasks if not task.fixed], here)
        timed = _as_tour(day, segment, flexible, taken)
        if timed is None:
            timed = _each_earliest(day, segment, flexible, taken)
        if timed is None:
            return None
        stops.extend(timed)
        taken.extend(stop.span for stop in timed)
    return stops


def _as_tour(
    day: date, segment: Segment, tasks: Sequence[Task], busy: Sequence[Span]
) -> list[Stop] | None:
    stops: list[Stop] = []
    for task in tasks:
        after = stops[-1].span.end + BUFFER if stops else None
        stop = _earliest(day, segment, task, [*busy, *(s.span for s in stops)], after)
        if stop is None:
            return None
        stops.append(stop)
    return stops


def _each_earliest(
    day: date, segment: Segment, tasks: Sequence[Task], busy: Sequence[Span]
) -> list[Stop] | None:
    stops: list[Stop] = []
    for task in tasks:
        stop = _earliest(day, segment, task, [*busy, *(s.span for s in stops)])
        if stop is None:
            return None
        stops.append(stop)
    return sorted(stops, key=lambda stop: stop.span.start)


def _earliest(
    day: date,
    segment: Segment,
    task: Task,
    busy: Sequence[Span],
    after: datetime | None = None,
) -> Stop | None:
    """The task at the earliest free time in the first of its windows that has one."""
    zone = zone_named(segment.place.time_zone)
    if zone is None:
        return None
    for window in task.windows:
        hours = window.within(segment.window)
        if hours is None:
            continue
        stop = _earliest_within(day, zone, hours, task, busy, after)
        if stop is not None:
            return stop
    return None


def _earliest_within(
    day: date,
    zone: ZoneInfo,
    hours: Window,
    task: Task,
    busy: Sequence[Span],
    after: datetime | None,
) -> Stop | None:
    midnight = datetime.combine(day, datetime.min.time())
    closes = existing(midnight + timedelta(minutes=hours.closes), zone)
    start = existing(midnight + timedelta(minutes=hours.opens), zone)
    if after is not None:
        start = max(start, wall_not_before(after, zone))
    length = timedelta(minutes=task.minutes)
    while True:
        start = existing(_on_grid(start), zone)
        first = instant(start, zone)
        if first is None or start.date() != day:
            return None
        end = wall_not_before(first + length, zone)
        last = instant(end, zone)
        if last is None or end > closes:
            return None
        span = Span(first, last)
        clashes = [
            other
            for other in busy
            if other.start - BUFFER < span.end and span.start < other.end + BUFFER
        ]
        if not clashes:
            return Stop(task, start, end, span)
        free_from = wall_not_before(max(other.end for other in clashes) + BUFFER, zone)
        start = max(free_from, start + timedelta(minutes=GRID_MINUTES))


def _on_grid(wall: datetime) -> datetime:
    """The wall time, rounded up to a round time (seconds dropped)."""
    wall = wall.replace(second=0, microsecond=0) + (
        timedelta(minutes=1) if wall.second or wall.microsecond else timedelta()
    )
    return wall + timedelta(minutes=-wall.minute % GRID_MINUTES)
