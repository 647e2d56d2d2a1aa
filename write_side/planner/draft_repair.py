"""Making any draft keep the rules, deterministically: fix what has one right fix (a clipped
text, the destination's zone, the day an item starts on, a time past a daylight-saving gap,
a cost rounded to its currency), shift an overlapping item later the same day, and drop
what is left (an idea it placed becomes a leftover, with why)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from write_side.planner.draft_rules import (
    Span,
    Where,
    blank,
    clip,
    coordinates_valid,
    ideas_by_key,
    money_fault,
    proposed_by_key,
    span_of,
    where_of,
)
from write_side.planner.drafting import (
    Draft,
    DraftDay,
    DraftDestination,
    DraftItem,
    Idea,
    Leftover,
    Limits,
    PlanningRequest,
)
from write_side.planner.wall_clock import existing, wall_at, wall_not_before, zone_named
from write_side.trips.itinerary import currency_exponent


def repaired(draft: Draft, request: PlanningRequest, limits: Limits) -> Draft:
    """The draft with every broken rule fixed or its item dropped (see the module)."""
    destinations = _kept_destinations(draft.destinations, request, limits)
    keeper = _Keeper(request, limits, proposed_by_key(tuple(destinations)))
    for day in draft.days:
        for item in day.items:
            keeper.consider(item)
    in_trip = [day.day for day in draft.days if request.start_date <= day.day <= request.end_date]
    summary = draft.summary
    if keeper.dropped:
        summary += f" Checking the plan dropped {len(keeper.dropped)} of its items."
    return Draft(
        days=keeper.days(in_trip),
        destinations=tuple(destinations),
        leftovers=keeper.leftovers(draft.leftovers),
        summary=clip(summary.strip(), limits.max_description),
    )


def _kept_destinations(
    proposed: tuple[DraftDestination, ...], request: PlanningRequest, limits: Limits
) -> list[DraftDestination]:
    """The proposed destinations that can be kept, their texts clipped and their dates
    brought inside the trip's."""
    kept: list[DraftDestination] = []
    seen: set[str] = set()
    for destination in proposed:
        if blank(destination.key) or destination.key in seen:
            seen.add(destination.key)
            continue
        seen.add(destination.key)
        name = clip(destination.name, limits.max_title)
        arrival = max(destination.arrival_date, request.start_date)
        departure = min(destination.departure_date, request.end_date)
        if (
            len(kept) >= limits.max_destinations
            or blank(name)
            or not coordinates_valid(destination.lat, destination.lng)
            or zone_named(destination.time_zone) is None
            or destination.departure_date < destination.arrival_date
            or departure < arrival
        ):
            continue
        kept.append(
            replace(
                destination,
                name=name,
                description=clip(destination.description, limits.max_description),
                reason=clip(destination.reason, limits.max_reason),
                arrival_date=arrival,
                departure_date=departure,
            )
        )
    return kept


@dataclass
class _Keeper:
    """Takes items one by one, in the draft's order, and keeps those that fit with the ones
    kept before them."""

    request: PlanningRequest
    limits: Limits
    proposed: dict[str, DraftDestination]
    ideas: dict[str, Idea] = field(init=False)
    busy: list[Span] = field(init=False)
    kept: dict[date, list[tuple[Span, DraftItem]]] = field(default_factory=dict)
    placed: set[str] = field(default_factory=set)
    dropped: list[tuple[DraftItem, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ideas = ideas_by_key(self.request)
        self.busy = [
            span
            for entry in self.request.booked
            if (span := span_of(entry.start, entry.end, entry.time_zone)) is not None
        ]

    def consider(self, item: DraftItem) -> None:
        fixed = _fixed(item, self.request, self.proposed, self.limits)
        if isinstance(fixed, str):
            self.dropped.append((item, fixed))
            return
        candidate, where, span = fixed
        refusal = self._refusal(candidate)
        if refusal is None:
            shifted = _shifted_clear_of(candidate, span, where, self.busy)
            if isinstance(shifted, str):
                refusal = shifted
            else:
                candidate, span = shifted
        if refusal is not None:
            self.dropped.append((item, refusal))
            return
        self.busy.append(span)
        self.kept.setdefault(candidate.start.date(), []).append((span, candidate))
        if candidate.idea_key is not None:
            self.placed.add(candidate.idea_key)

    def _refusal(self, item: DraftItem) -> str | None:
        day = item.start.date()
        if item.idea_key is not None and item.idea_key not in self.ideas:
            return "it named no idea of the trip"
        if item.idea_key is not None and item.idea_key in self.placed:
            return "another item already placed it"
        if day not in self.kept and len(self.kept) >= self.limits.max_days:
            return f"the draft already held {self.limits.max_days} days"
        if len(self.kept.get(day, ())) >= self.limits.max_items_per_day:
            return f"its day already held {self.limits.max_items_per_day} items"
        if sum(len(items) for items in self.kept.values()) >= self.limits.max_items:
            return f"the draft already held {self.limits.max_items} items"
        return None

    def days(self, empty_days: list[date]) -> tuple[DraftDay, ...]:
        dates = set(self.kept)
        for day in empty_days:
            if len(dates) < self.limits.max_days:
                dates.add(day)
        return tuple(
            DraftDay(
                day,
                tuple(item for _, item in sorted(self.kept.get(day, []), key=lambda e: e[0].start)),
            )
            for day in sorted(dates)
        )

    def leftovers(self, given: tuple[Leftover, ...]) -> tuple[Leftover, ...]:
        found = list(given)
        reported = {leftover.key for leftover in given} | self.placed
        for item, reason in self.dropped:
            key = item.idea_key
            if key is not None and key in self.ideas and key not in reported:
                reported.add(key)
                found.append(Leftover(key, self.ideas[key].title, f"dropped: {reason}"))
        return tuple(found)


def _fixed(
    item: DraftItem,
    request: PlanningRequest,
    proposed: dict[str, DraftDestination],
    limits: Limits,
) -> tuple[DraftItem, Where, Span] | str:
    """The item with every rule it can keep on its own fixed, where it is and when; or why
    it cannot be kept."""
    title = clip(item.title, limits.max_title)
    if blank(title):
        return "it had no title"
    located = _located(item, request, proposed)
    if located is None:
        return "it named no destination of the trip or of the draft"
    where = where_of(located, request, proposed)
    zone = zone_named(where.time_zone) if where is not None else None
    if where is None or zone is None:
        return "its destination's time zone is unknown"
    start, end = _wall(item.start, zone), _wall(item.end, zone)
    span = span_of(start, end, where.time_zone) if start and end else None
    if start is None or end is None or span is None:
        return "its times could not be read"
    if span.end <= span.start:
        return "it ended before it started"
    if not (where.covers(start.date()) and where.covers(end.date())):
        return "it was outside its destination's dates"
    if not request.start_date <= start.date() <= request.end_date:
        return "it was outside the trip's dates"
    money = _money(item.cost, item.currency)
    if money is None:
        return "its cost was not an amount of a currency"
    fixed = replace(
        located,
        title=title,
        description=clip(item.description, limits.max_description),
        reason=clip(item.reason, limits.max_reason),
        time_zone=where.time_zone,
        start=start,
        end=end,
        cost=money[0],
        currency=money[1],
    )
    return fixed, where, span


def _located(
    item: DraftItem, request: PlanningRequest, proposed: dict[str, DraftDestination]
) -> DraftItem | None:
    """The item naming exactly one destination that exists: the trip's, else the draft's."""
    if item.destination_id is not None and request.place(item.destination_id) is not None:
        return replace(item, new_destination=None)
    if item.new_destination is not None and item.new_destination in proposed:
        return replace(item, destination_id=None)
    return None


def _wall(moment: datetime, zone: ZoneInfo) -> datetime | None:
    """A wall-clock time that exists in the zone: one with an offset read there, one in a
    daylight-saving gap moved past it."""
    try:
        wall = wall_at(moment, zone) if moment.tzinfo is not None else moment
        return existing(wall, zone)
    except (OverflowError, ValueError):
        return None


def _money(cost: Decimal | None, currency: str | None) -> tuple[Decimal | None, str | None] | None:
    """The cost and currency, rounded to the currency's minor units; None if they cannot be
    an amount of a currency."""
    fault = money_fault(cost, currency)
    if fault is None:
        return cost, currency
    if cost is None:
        return None, None  # a currency of no cost: nothing is lost without it
    exponent = currency_exponent(currency)
    if fault[1] != "invalid_amount" or exponent is None or not cost.is_finite():
        return None
    try:
        rounded = cost.quantize(Decimal(1).scaleb(-exponent))
    except InvalidOperation:
        return None
    return (rounded, currency) if money_fault(rounded, currency) is None else None


def _shifted_clear_of(
    item: DraftItem, span: Span, where: Where, busy: list[Span]
) -> tuple[DraftItem, Span] | str:
    """The item, moved later the same day (as little as needed) until it overlaps nothing
    busy; or why it cannot be."""
    zone = zone_named(item.time_zone)
    assert zone is not None
    day = item.start.date()
    length = item.end - item.start
    start, end = item.start, item.end
    while clashes := [other for other in busy if other.overlaps(span)]:
        start = wall_not_before(max(other.end for other in clashes), zone)
        end = existing(start + length, zone)
        moved = span_of(start, end, item.time_zone)
        midnight = datetime.combine(day + timedelta(days=1), datetime.min.time())
        if start.date() != day or end > midnight or not where.covers(end.date()) or not moved:
            return "it overlapped another item and no later time that day was free"
        span = moved
    return replace(item, start=start, end=end), span
