"""The entities inside a trip (destinations and their activities) and their value types."""

from __future__ import annotations

import re
from collections import UserDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import iso4217
import tzfpy
from fractional_indexing import generate_key_between

from write_side.errors import (
    MAX_YEAR,
    MIN_YEAR,
    AmbiguousLocalTimeError,
    InvalidAmountError,
    InvalidCurrencyError,
    InvalidTimeZoneError,
    NonexistentLocalTimeError,
    TimeOutOfRangeError,
)

_CURRENCY = re.compile(r"^[A-Z]{3}$")
NO_CURRENCY = "XXX"  # ISO 4217's code for "no currency": costs recorded before currencies

V = TypeVar("V")


class ById(UserDict[UUID, V]):
    """Entities by id. Not a dict subclass, which JSON would encode natively: snapshots
    encode it through its transcoding, UUID keys included."""


class ActivityType(StrEnum):
    SIGHTSEEING = "sightseeing"
    RESTAURANT = "restaurant"
    HOTEL = "hotel"
    TRANSPORT = "transport"
    OTHER = "other"


@dataclass(frozen=True)
class LocalTime:
    """A wall-clock time where it happens, and the instant it is: a flight leaves in one zone
    and lands in another."""

    local: datetime  # naive
    time_zone: str
    utc: datetime

    @classmethod
    def at(cls, local: datetime, time_zone: str, fold: int | None = None) -> LocalTime:
        """The instant a wall-clock time is in a zone. A time skipped by a daylight-saving
        change is refused; one that happens twice needs `fold` (0: the first, 1: the
        second)."""
        try:
            zone = ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidTimeZoneError(time_zone) from None
        wall = local.replace(tzinfo=None)
        if not MIN_YEAR <= wall.year <= MAX_YEAR:
            raise TimeOutOfRangeError(wall)
        first, second = (wall.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1))
        if first.astimezone(zone).replace(tzinfo=None) != wall:
            raise NonexistentLocalTimeError(wall, time_zone)
        if first != second and fold is None:
            raise AmbiguousLocalTimeError(wall, time_zone)
        return cls(local=wall, time_zone=time_zone, utc=second if fold == 1 else first)


def currency_exponent(code: str | None) -> int | None:
    """The number of decimal places of an ISO 4217 currency; None for no such currency (or
    one without minor units, such as XXX, "no currency", or gold)."""
    if code is None or not _CURRENCY.match(code):
        return None
    try:
        exponent: int | None = iso4217.Currency(code).exponent
    except ValueError:
        return None
    return exponent


def check_money(cost: Decimal | None, currency: str | None) -> None:
    """A cost is an amount of a real currency, in no finer units than the currency has."""
    if cost is None:
        return
    exponent = currency_exponent(currency)
    if currency is None or exponent is None:
        raise InvalidCurrencyError(currency)
    places = -cost.normalize().as_tuple().exponent  # type: ignore[operator]
    if places > exponent:
        raise InvalidAmountError(currency, exponent)


@dataclass
class Activity:
    id: UUID
    title: str
    description: str
    activity_type: ActivityType
    start: LocalTime | None
    end: LocalTime | None
    cost: Decimal | None
    currency: str | None
    rank: str
    changed_at: dict[str, int] = field(default_factory=dict)  # field → trip version


@dataclass
class Destination:
    id: UUID
    name: str
    description: str
    location: dict[str, Any]
    arrival_date: date
    departure_date: date
    rank: str
    activities: ById[Activity] = field(default_factory=ById)
    time_zone: str | None = None  # set by a member; None: the zone at its location

    @property
    def zone(self) -> str:
        """The IANA zone its wall-clock times are read in."""
        return self.time_zone or zone_at(self.location)


def zone_at(location: dict[str, Any]) -> str:
    """The IANA time zone at a point (offline, from tzfpy's boundaries; at sea, Etc/GMT±N)."""
    return str(tzfpy.get_tz(float(location["lng"]), float(location["lat"])))


def check_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidTimeZoneError(name) from None
    return name


def check_currency(code: str) -> str:
    """A currency a cost can be in: a real ISO 4217 code with minor units."""
    if currency_exponent(code) is None:
        raise InvalidCurrencyError(code)
    return code


def in_order(items: Iterable[Any]) -> list[Any]:
    """Siblings by rank (ties, which concurrent writers could make, by id)."""
    return sorted(items, key=lambda item: (item.rank, str(item.id)))


def rank_after(siblings: list[Any], after_id: UUID | None, moving: UUID | None = None) -> str:
    """A rank right after `after_id` (None: first), between it and its next sibling. Only the
    moved item gets a new rank: siblings are never rewritten."""
    ordered = [s for s in in_order(siblings) if s.id != moving]
    if after_id is None:
        return str(generate_key_between(None, ordered[0].rank if ordered else None))
    position = next(i for i, s in enumerate(ordered) if s.id == after_id)
    following = ordered[position + 1].rank if position + 1 < len(ordered) else None
    return str(generate_key_between(ordered[position].rank, following))


def to_follow(siblings: Iterable[Any], moving: UUID, position: int) -> UUID | None:
    """The sibling an item must follow to stand at `position` among its siblings (0: first;
    past the end: last): the seed's `{"order": N}` in terms of `rank_after`."""
    ordered = [s for s in in_order(siblings) if s.id != moving]
    if position <= 0 or not ordered:
        return None
    following: UUID = ordered[min(position, len(ordered)) - 1].id
    return following


def rank_last(siblings: Iterable[Any]) -> str:
    ordered = in_order(siblings)
    return str(generate_key_between(ordered[-1].rank if ordered else None, None))
