"""The pieces of a draft's rules that validation and repair share, so that what repair keeps
is exactly what validation accepts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from write_side.errors import InvalidAmountError, InvalidCurrencyError
from write_side.planner.drafting import (
    DraftDestination,
    DraftItem,
    Idea,
    Limits,
    PlanningRequest,
)
from write_side.planner.wall_clock import exists, instant, zone_named
from write_side.trips.itinerary import check_money, currency_exponent

ELLIPSIS = "…"
DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Span:
    """When something happens, as UTC instants (end excluded)."""

    start: datetime
    end: datetime

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class Where:
    """Where an item happens: its destination's zone and days (departure included)."""

    time_zone: str
    arrival: date
    departure: date

    def covers(self, day: date) -> bool:
        return self.arrival <= day <= self.departure


def proposed_by_key(destinations: tuple[DraftDestination, ...]) -> dict[str, DraftDestination]:
    """The destinations a draft proposes, by key (the first of a repeated key)."""
    found: dict[str, DraftDestination] = {}
    for destination in destinations:
        found.setdefault(destination.key, destination)
    return found


def where_of(
    item: DraftItem, request: PlanningRequest, proposed: Mapping[str, DraftDestination]
) -> Where | None:
    """The destination an item names (a place of the trip, or one the draft proposes); None
    when it names none, both, or one that does not exist."""
    if (item.destination_id is None) == (item.new_destination is None):
        return None
    if item.destination_id is not None:
        place = request.place(item.destination_id)
        if place is None:
            return None
        return Where(place.time_zone, place.arrival_date, place.departure_date)
    destination = proposed.get(item.new_destination or "")
    if destination is None:
        return None
    return Where(destination.time_zone, destination.arrival_date, destination.departure_date)


def span_of(start: datetime, end: datetime, time_zone: str) -> Span | None:
    """The instants of two wall-clock times in a zone; None when they cannot be read (no
    such zone, a time with an offset of its own, a time that does not exist there)."""
    zone = zone_named(time_zone)
    if zone is None or start.tzinfo is not None or end.tzinfo is not None:
        return None
    if not (exists(start, zone) and exists(end, zone)):
        return None
    first, last = instant(start, zone), instant(end, zone)
    if first is None or last is None:
        return None
    return Span(first, last)


def ideas_by_key(request: PlanningRequest) -> dict[str, Idea]:
    """The ideas and candidates a draft may place (the first of a repeated key)."""
    found: dict[str, Idea] = {}
    for idea in (*request.ideas, *request.candidates):
        found.setdefault(idea.key, idea)
    return found


def money_fault(cost: Decimal | None, currency: str | None) -> tuple[str, str, str] | None:
    """What is wrong with an item's cost, as (field, code, message); None if nothing."""
    if currency is not None and currency_exponent(currency) is None:
        return (
            "currency",
            "invalid_currency",
            f"{currency!r} is not an ISO 4217 currency with minor units (such as EUR or JPY).",
        )
    if cost is None:
        return None
    if not cost.is_finite():
        return "cost", "invalid_amount", f"The cost {cost} is not a number."
    if cost < 0:
        return "cost", "negative_cost", f"The cost {cost} is negative; costs are 0 or more."
    try:
        check_money(cost, currency)
    except InvalidCurrencyError:
        return "currency", "invalid_currency", "A cost needs its currency (an ISO 4217 code)."
    except InvalidAmountError:
        return (
            "cost",
            "invalid_amount",
            f"The cost {cost} has more decimal places than {currency} has"
            f" ({currency_exponent(currency)}).",
        )
    return None


def coordinates_valid(lat: float, lng: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180


def too_long(text: str, limit: int) -> bool:
    return len(text) > limit


def clip(text: str, limit: int) -> str:
    """The text, cut to `limit` characters (the cut marked with an ellipsis)."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS if limit > 0 else ""


def blank(text: str) -> bool:
    return not text.strip()
