"""The rules of a draft's items: texts, where and when each happens, its cost, the idea it
places, and that no two items (nor an item and a booked activity) overlap."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from write_side.planner.draft_rules import (
    Span,
    blank,
    ideas_by_key,
    money_fault,
    proposed_by_key,
    span_of,
    too_long,
    where_of,
)
from write_side.planner.drafting import Draft, DraftItem, Limits, PlanningRequest, Problem
from write_side.planner.wall_clock import exists, instant, zone_named


def item_problems(draft: Draft, request: PlanningRequest, limits: Limits) -> Iterator[Problem]:
    ideas = ideas_by_key(request)
    placed: set[str] = set()
    for index, day in enumerate(draft.days):
        for position, item in enumerate(day.items):
            path = f"days[{index}].items[{position}]"
            yield from _text_problems(path, item, limits)
            yield from _where_problems(path, item, day.day, draft, request)
            fault = money_fault(item.cost, item.currency)
            if fault is not None:
                yield Problem(f"{path}.{fault[0]}", fault[1], fault[2])
            if item.idea_key is not None:
                if item.idea_key not in ideas:
                    yield Problem(
                        f"{path}.idea_key",
                        "unknown_idea",
                        f"{item.idea_key!r} is not the key of an idea or candidate of the "
                        "request; use one of theirs, or null for an activity of your own.",
                    )
                elif item.idea_key in placed:
                    yield Problem(
                        f"{path}.idea_key",
                        "idea_placed_twice",
                        f"{item.idea_key!r} is already placed by an earlier item; place each "
                        "idea at most once.",
                    )
                placed.add(item.idea_key)


def _text_problems(path: str, item: DraftItem, limits: Limits) -> Iterator[Problem]:
    if blank(item.title):
        yield Problem(f"{path}.title", "empty_title", "An item needs a title.")
    for name, text, limit in (
        ("title", item.title, limits.max_title),
        ("description", item.description, limits.max_description),
        ("reason", item.reason, limits.max_reason),
    ):
        if too_long(text, limit):
            yield text_too_long(f"{path}.{name}", limit)


def _where_problems(
    path: str, item: DraftItem, day: date, draft: Draft, request: PlanningRequest
) -> Iterator[Problem]:
    yield from _destination_choice_problems(path, item, draft, request)
    where = where_of(item, request, proposed_by_key(draft.destinations))
    if zone_named(item.time_zone) is None:
        yield invalid_zone(f"{path}.time_zone", item.time_zone)
    else:
        if where is not None and where.time_zone != item.time_zone:
            yield Problem(
                f"{path}.time_zone",
                "wrong_time_zone",
                f"Times at this destination are in {where.time_zone}, not {item.time_zone}.",
            )
        yield from _time_problems(path, item)
    if item.start.date() != day:
        yield Problem(
            f"{path}.start",
            "wrong_day",
            f"It starts on {item.start.date()}, so it belongs in the day {item.start.date()}, "
            f"not {day}.",
        )
    if where is not None:
        for name, moment in (("start", item.start), ("end", item.end)):
            if not where.covers(moment.date()):
                yield Problem(
                    f"{path}.{name}",
                    "outside_destination_dates",
                    f"{moment.isoformat()} is not on the destination's days "
                    f"({where.arrival} to {where.departure}).",
                )


def _destination_choice_problems(
    path: str, item: DraftItem, draft: Draft, request: PlanningRequest
) -> Iterator[Problem]:
    if item.destination_id is None and item.new_destination is None:
        yield Problem(
            f"{path}.destination_id",
            "no_destination",
            "Set destination_id to a destination of the trip, or new_destination to the key "
            "of a destination this draft proposes.",
        )
    elif item.destination_id is not None and item.new_destination is not None:
        yield Problem(
            f"{path}.new_destination",
            "two_destinations",
            "Set either destination_id or new_destination, not both.",
        )
    elif item.destination_id is not None and request.place(item.destination_id) is None:
        yield Problem(
            f"{path}.destination_id",
            "unknown_destination",
            f"{item.destination_id} is not a destination of the trip.",
        )
    elif item.new_destination is not None and item.new_destination not in {
        destination.key for destination in draft.destinations
    }:
        yield Problem(
            f"{path}.new_destination",
            "unknown_new_destination",
            f"{item.new_destination!r} is not the key of a destination this draft proposes.",
        )


def _time_problems(path: str, item: DraftItem) -> Iterator[Problem]:
    zone = zone_named(item.time_zone)
    assert zone is not None  # checked by the caller
    for name, moment in (("start", item.start), ("end", item.end)):
        if moment.tzinfo is not None:
            yield Problem(
                f"{path}.{name}",
                "time_with_offset",
                f"{moment.isoformat()} carries an offset; give wall-clock times in "
                f"{item.time_zone} without one.",
            )
        elif instant(moment, zone) is None:
            yield Problem(f"{path}.{name}", "time_out_of_range", f"{moment} is out of range.")
        elif not exists(moment, zone):
            yield Problem(
                f"{path}.{name}",
                "nonexistent_local_time",
                f"{moment.isoformat()} does not exist in {item.time_zone} (the clocks skip it "
                "for daylight saving time).",
            )
    span = span_of(item.start, item.end, item.time_zone)
    if span is not None and span.end <= span.start:
        yield Problem(
            f"{path}.end",
            "end_not_after_start",
            f"The end {item.end.isoformat()} is not after the start {item.start.isoformat()}.",
        )


@dataclass(frozen=True)
class _Timed:
    path: str
    title: str
    span: Span


def overlap_problems(draft: Draft, request: PlanningRequest) -> Iterator[Problem]:
    booked = [
        (entry, span)
        for entry in request.booked
        if (span := span_of(entry.start, entry.end, entry.time_zone)) is not None
    ]
    earlier: list[_Timed] = []
    for index, day in enumerate(draft.days):
        for position, item in enumerate(day.items):
            span = span_of(item.start, item.end, item.time_zone)
            if span is None or span.end <= span.start:
                continue
            path = f"days[{index}].items[{position}]"
            when = f"{item.start.isoformat()} to {item.end.isoformat()} {item.time_zone}"
            for other in earlier:
                if span.overlaps(other.span):
                    yield Problem(
                        f"{path}.start",
                        "overlap",
                        f"{item.title!r} ({when}) overlaps {other.title!r} ({other.path}); "
                        "move one of them to a free time.",
                    )
            for entry, booked_span in booked:
                if span.overlaps(booked_span):
                    yield Problem(
                        f"{path}.start",
                        "overlaps_booked",
                        f"{item.title!r} ({when}) overlaps the booked {entry.title!r} "
                        f"({entry.start.isoformat()} to {entry.end.isoformat()} "
                        f"{entry.time_zone}); plan around it.",
                    )
            earlier.append(_Timed(path, item.title, span))


def text_too_long(path: str, limit: int) -> Problem:
    return Problem(path, "text_too_long", f"At most {limit} characters.")


def invalid_zone(path: str, name: str) -> Problem:
    return Problem(
        path, "invalid_time_zone", f"{name!r} is not an IANA time zone (such as Europe/Paris)."
    )
