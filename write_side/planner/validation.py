"""Every rule a draft must keep before it can become the trip's itinerary, each broken rule a
`Problem` with a path, a stable code and a sentence a model can act on; and the
deterministic repair that makes any draft keep them."""

from __future__ import annotations

from collections.abc import Iterator

from write_side.planner.draft_repair import repaired
from write_side.planner.draft_rules import DEFAULT_LIMITS, blank, coordinates_valid, too_long
from write_side.planner.drafting import Draft, DraftDestination, Limits, PlanningRequest, Problem
from write_side.planner.item_rules import (
    invalid_zone,
    item_problems,
    overlap_problems,
    text_too_long,
)
from write_side.planner.wall_clock import zone_named


def validate(
    draft: Draft, request: PlanningRequest, limits: Limits = DEFAULT_LIMITS
) -> list[Problem]:
    """The rules the draft breaks; empty when it can be applied as it is."""
    return [
        *_summary_problems(draft, limits),
        *_destination_problems(draft, request, limits),
        *_day_problems(draft, request, limits),
        *item_problems(draft, request, limits),
        *overlap_problems(draft, request),
    ]


def repair(
    draft: Draft, request: PlanningRequest, limits: Limits = DEFAULT_LIMITS
) -> tuple[Draft, list[Problem]]:
    """A draft that keeps every rule, made from this one by shifting or dropping what breaks
    them (dropped ideas become leftovers), and the problems it repaired."""
    problems = validate(draft, request, limits)
    if not problems:
        return draft, []
    return repaired(draft, request, limits), problems


def _summary_problems(draft: Draft, limits: Limits) -> Iterator[Problem]:
    if too_long(draft.summary, limits.max_description):
        yield text_too_long("summary", limits.max_description)


def _destination_problems(
    draft: Draft, request: PlanningRequest, limits: Limits
) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, destination in enumerate(draft.destinations):
        path = f"destinations[{index}]"
        if index >= limits.max_destinations:
            yield Problem(
                path,
                "too_many_destinations",
                f"A draft may propose at most {limits.max_destinations} new destinations.",
            )
        if blank(destination.key):
            yield Problem(f"{path}.key", "empty_key", "A proposed destination needs a key.")
        elif destination.key in seen:
            yield Problem(
                f"{path}.key",
                "duplicate_key",
                f"Another proposed destination already has the key {destination.key!r}.",
            )
        seen.add(destination.key)
        yield from _proposed_destination_problems(path, destination, request, limits)


def _proposed_destination_problems(
    path: str, destination: DraftDestination, request: PlanningRequest, limits: Limits
) -> Iterator[Problem]:
    if blank(destination.name):
        yield Problem(f"{path}.name", "empty_name", "A proposed destination needs a name.")
    for name, text, limit in (
        ("name", destination.name, limits.max_title),
        ("description", destination.description, limits.max_description),
        ("reason", destination.reason, limits.max_reason),
    ):
        if too_long(text, limit):
            yield text_too_long(f"{path}.{name}", limit)
    if not coordinates_valid(destination.lat, destination.lng):
        yield Problem(
            f"{path}.lat",
            "invalid_coordinates",
            f"({destination.lat}, {destination.lng}) is not a point on Earth: latitude must be "
            "within -90..90 and longitude within -180..180.",
        )
    if zone_named(destination.time_zone) is None:
        yield invalid_zone(f"{path}.time_zone", destination.time_zone)
    if destination.departure_date < destination.arrival_date:
        yield Problem(
            f"{path}.departure_date",
            "end_before_start",
            f"The departure {destination.departure_date} is before the arrival "
            f"{destination.arrival_date}.",
        )
    for name, day in (
        ("arrival_date", destination.arrival_date),
        ("departure_date", destination.departure_date),
    ):
        if not request.start_date <= day <= request.end_date:
            yield Problem(
                f"{path}.{name}",
                "destination_outside_trip",
                f"{day} is outside the trip's dates ({request.start_date} to {request.end_date}).",
            )


def _day_problems(draft: Draft, request: PlanningRequest, limits: Limits) -> Iterator[Problem]:
    seen = set()
    total = 0
    for index, day in enumerate(draft.days):
        path = f"days[{index}]"
        if index >= limits.max_days:
            yield Problem(
                path, "too_many_days", f"A draft may hold at most {limits.max_days} days."
            )
        if not request.start_date <= day.day <= request.end_date:
            yield Problem(
                f"{path}.day",
                "day_outside_trip",
                f"{day.day} is outside the trip's dates ({request.start_date} to "
                f"{request.end_date}).",
            )
        if day.day in seen:
            yield Problem(
                f"{path}.day",
                "duplicate_day",
                f"{day.day} appears twice; put all of a date's items in one day.",
            )
        elif index > 0 and day.day < draft.days[index - 1].day:
            yield Problem(
                f"{path}.day",
                "days_out_of_order",
                f"{day.day} comes after {draft.days[index - 1].day}; list days in date order.",
            )
        seen.add(day.day)
        for position in range(len(day.items)):
            item_path = f"{path}.items[{position}]"
            if position >= limits.max_items_per_day:
                yield Problem(
                    item_path,
                    "too_many_items_in_day",
                    f"A day may hold at most {limits.max_items_per_day} items.",
                )
            if total >= limits.max_items:
                yield Problem(
                    item_path,
                    "too_many_items",
                    f"A draft may hold at most {limits.max_items} items.",
                )
            total += 1
