"""Wall-clock times in an IANA zone, read as a draft reads them: a time skipped by a
daylight-saving change does not exist (it is moved past the gap, never used); a time that
happens twice is its first occurrence (fold=0), as the trip reads it. Read this way, later
wall times are later instants, so ordering and overlaps can be decided in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@cache
def zone_named(name: str) -> ZoneInfo | None:
    """The zone, or None for a name that is not an IANA zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return None


def instant(wall: datetime, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of a wall-clock time (its first occurrence); None when it falls outside
    what `datetime` can hold."""
    try:
        return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def wall_at(moment: datetime, zone: ZoneInfo) -> datetime:
    """The wall-clock time an instant shows in a zone."""
    return moment.astimezone(zone).replace(tzinfo=None)


def exists(wall: datetime, zone: ZoneInfo) -> bool:
    """False for a time a spring-forward change skips."""
    moment = instant(wall, zone)
    return moment is not None and wall_at(moment, zone) == wall.replace(tzinfo=None)


def existing(wall: datetime, zone: ZoneInfo) -> datetime:
    """The time itself, or, for one a spring-forward change skips, the same time past the gap
    (02:30 on a night that jumps from 02:00 to 03:00 becomes 03:30)."""
    moment = instant(wall, zone)
    return wall if moment is None else wall_at(moment, zone)


def wall_not_before(moment: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time whose instant (as read, fold=0) is at or after `moment`: its own wall
    time, except in the second occurrence of a fall-back hour, which reads as the first (an
    hour earlier) and so is moved on until it reads late enough."""
    wall = wall_at(moment, zone)
    while (read := instant(wall, zone)) is not None and read < moment:
        wall = existing(wall + max(moment - read, timedelta(minutes=1)), zone)
    return wall
