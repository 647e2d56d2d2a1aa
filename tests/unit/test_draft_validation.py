"""Draft validation (every rule, with its code and path), the deterministic repair (any draft
comes out valid), and the ask / check / re-ask / repair loop over a fake planner."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from write_side.planner.checked import checked_draft
from write_side.planner.drafting import (
    Booked,
    Draft,
    DraftDay,
    DraftDestination,
    DraftItem,
    Idea,
    Leftover,
    Limits,
    Place,
    Planned,
    PlanningRequest,
    Problem,
    Usage,
)
from write_side.planner.ports import PlannerTimeoutError, PlannerUnavailableError
from write_side.planner.scheduler import OfflineScheduler
from write_side.planner.validation import repair, validate
from write_side.planner.wall_clock import existing, wall_not_before
from write_side.trips.itinerary import ActivityType

PARIS_ID = UUID(int=1)
NEW_YORK_ID = UUID(int=2)
PARIS = Place(
    PARIS_ID, "Paris", "", 48.8566, 2.3522, "Europe/Paris", date(2026, 3, 28), date(2026, 3, 30)
)
NEW_YORK = Place(
    NEW_YORK_ID,
    "New York",
    "",
    40.7128,
    -74.006,
    "America/New_York",
    date(2026, 3, 30),
    date(2026, 4, 1),
)
HONOLULU = DraftDestination(
    key="hono",
    name="Honolulu",
    description="",
    lat=21.3,
    lng=-157.85,
    time_zone="Pacific/Honolulu",
    arrival_date=date(2026, 3, 30),
    departure_date=date(2026, 3, 31),
    reason="beaches",
)
BOOKED = Booked(
    activity_id=UUID(int=50),
    destination_id=NEW_YORK_ID,
    title="Flight to London",
    activity_type=ActivityType.TRANSPORT,
    start=datetime(2026, 3, 31, 14, 0),
    end=datetime(2026, 3, 31, 16, 0),
    time_zone="Europe/London",  # 13:00-15:00 UTC
)
REQUEST = PlanningRequest(
    trip_id=UUID(int=99),
    title="Spring",
    description="",
    start_date=date(2026, 3, 28),
    end_date=date(2026, 4, 1),
    currency="EUR",
    places=(PARIS, NEW_YORK),
    booked=(BOOKED,),
    ideas=(
        Idea("idea-1", "Louvre", "", ActivityType.SIGHTSEEING, "idea", PARIS_ID),
        Idea("idea-2", "Dinner", "", ActivityType.RESTAURANT, "idea", NEW_YORK_ID),
    ),
    candidates=(Idea("cand-1", "MoMA", "", ActivityType.SIGHTSEEING, "candidate"),),
)
DAY = date(2026, 3, 28)
T = TypeVar("T")


def item(**changes: Any) -> DraftItem:
    """A valid item: Paris, 28 March, 10:00-11:00."""
    base = DraftItem(
        title="Louvre",
        description="Paintings",
        activity_type=ActivityType.SIGHTSEEING,
        start=datetime(2026, 3, 28, 10, 0),
        end=datetime(2026, 3, 28, 11, 0),
        time_zone="Europe/Paris",
        reason="your idea",
        destination_id=PARIS_ID,
        cost=Decimal("22.00"),
        currency="EUR",
        idea_key="idea-1",
    )
    return replace(base, **changes)


def one_day(*items: DraftItem, day: date = DAY) -> Draft:
    return Draft(days=(DraftDay(day, items),))


def found(problems: Sequence[Problem]) -> set[tuple[str, str]]:
    return {(problem.path, problem.code) for problem in problems}


def test_a_valid_draft_has_no_problems() -> None:
    draft = Draft(
        days=(
            DraftDay(
                DAY,
                (
                    item(),
                    item(
                        start=datetime(2026, 3, 28, 12),
                        end=datetime(2026, 3, 28, 13),
                        idea_key=None,
                    ),
                ),
            ),
            DraftDay(
                date(2026, 3, 30),
                (
                    item(
                        destination_id=None,
                        new_destination="hono",
                        time_zone="Pacific/Honolulu",
                        start=datetime(2026, 3, 30, 9),
                        end=datetime(2026, 3, 30, 10),
                        idea_key="cand-1",
                    ),
                ),
            ),
        ),
        destinations=(HONOLULU,),
    )
    assert validate(draft, REQUEST) == []


NY_31 = {
    "destination_id": NEW_YORK_ID,
    "time_zone": "America/New_York",
    "idea_key": None,
}


@pytest.mark.parametrize(
    ("draft", "path", "code"),
    [
        (Draft(days=(DraftDay(date(2026, 3, 27), ()),)), "days[0].day", "day_outside_trip"),
        (Draft(days=(DraftDay(DAY, ()), DraftDay(DAY, ()))), "days[1].day", "duplicate_day"),
        (
            Draft(days=(DraftDay(date(2026, 3, 29), ()), DraftDay(DAY, ()))),
            "days[1].day",
            "days_out_of_order",
        ),
        (one_day(item(start=datetime(2026, 3, 29, 10))), "days[0].items[0].start", "wrong_day"),
        (
            one_day(item(end=datetime(2026, 3, 28, 10))),
            "days[0].items[0].end",
            "end_not_after_start",
        ),
        (
            one_day(item(**NY_31)),
            "days[0].items[0].start",
            "outside_destination_dates",
        ),
        (
            one_day(item(destination_id=None)),
            "days[0].items[0].destination_id",
            "no_destination",
        ),
        (
            Draft(days=(DraftDay(DAY, (item(new_destination="hono"),)),), destinations=(HONOLULU,)),
            "days[0].items[0].new_destination",
            "two_destinations",
        ),
        (
            one_day(item(destination_id=UUID(int=77))),
            "days[0].items[0].destination_id",
            "unknown_destination",
        ),
        (
            one_day(item(destination_id=None, new_destination="atlantis")),
            "days[0].items[0].new_destination",
            "unknown_new_destination",
        ),
        (
            one_day(item(time_zone="Europe/Berlin")),
            "days[0].items[0].time_zone",
            "wrong_time_zone",
        ),
        (
            one_day(item(time_zone="Mars/Olympus_Mons")),
            "days[0].items[0].time_zone",
            "invalid_time_zone",
        ),
        (
            one_day(
                item(start=datetime(2026, 3, 29, 2, 30), end=datetime(2026, 3, 29, 4)),
                day=date(2026, 3, 29),
            ),
            "days[0].items[0].start",
            "nonexistent_local_time",
        ),
        (
            one_day(item(start=datetime(2026, 3, 28, 10, tzinfo=UTC))),
            "days[0].items[0].start",
            "time_with_offset",
        ),
        (one_day(item(currency="EURO")), "days[0].items[0].currency", "invalid_currency"),
        (one_day(item(currency=None)), "days[0].items[0].currency", "invalid_currency"),
        (one_day(item(cost=Decimal("-1"))), "days[0].items[0].cost", "negative_cost"),
        (one_day(item(cost=Decimal("1.234"))), "days[0].items[0].cost", "invalid_amount"),
        (
            one_day(item(cost=Decimal("1.5"), currency="JPY")),
            "days[0].items[0].cost",
            "invalid_amount",
        ),
        (one_day(item(cost=Decimal("NaN"))), "days[0].items[0].cost", "invalid_amount"),
        (one_day(item(idea_key="nope")), "days[0].items[0].idea_key", "unknown_idea"),
        (
            one_day(item(), item(start=datetime(2026, 3, 28, 12), end=datetime(2026, 3, 28, 13))),
            "days[0].items[1].idea_key",
            "idea_placed_twice",
        ),
        (one_day(item(title="  ")), "days[0].items[0].title", "empty_title"),
        (one_day(item(title="x" * 201)), "days[0].items[0].title", "text_too_long"),
        (one_day(item(description="x" * 2001)), "days[0].items[0].description", "text_too_long"),
        (one_day(item(reason="x" * 501)), "days[0].items[0].reason", "text_too_long"),
        (Draft(days=(), summary="x" * 2001), "summary", "text_too_long"),
        (
            one_day(item(), item(idea_key=None, start=datetime(2026, 3, 28, 10, 30))),
            "days[0].items[1].start",
            "overlap",
        ),
        (
            one_day(
                item(**NY_31, start=datetime(2026, 3, 31, 9, 30), end=datetime(2026, 3, 31, 10)),
                day=date(2026, 3, 31),
            ),
            "days[0].items[0].start",
            "overlaps_booked",
        ),
    ],
)
def test_each_rule_is_caught_with_its_code_and_path(draft: Draft, path: str, code: str) -> None:
    assert (path, code) in found(validate(draft, REQUEST))


@pytest.mark.parametrize(
    ("destination", "path", "code"),
    [
        (
            replace(HONOLULU, arrival_date=date(2026, 3, 27)),
            "arrival_date",
            "destination_outside_trip",
        ),
        (
            replace(HONOLULU, departure_date=date(2026, 4, 2)),
            "departure_date",
            "destination_outside_trip",
        ),
        (replace(HONOLULU, departure_date=date(2026, 3, 29)), "departure_date", "end_before_start"),
        (replace(HONOLULU, lat=91.0), "lat", "invalid_coordinates"),
        (replace(HONOLULU, lng=float("nan")), "lat", "invalid_coordinates"),
        (replace(HONOLULU, time_zone="Hawaii/Nowhere"), "time_zone", "invalid_time_zone"),
        (replace(HONOLULU, key=""), "key", "empty_key"),
        (replace(HONOLULU, name=" "), "name", "empty_name"),
        (replace(HONOLULU, name="x" * 201), "name", "text_too_long"),
    ],
)
def test_each_rule_of_a_proposed_destination_is_caught(
    destination: DraftDestination, path: str, code: str
) -> None:
    draft = Draft(days=(), destinations=(destination,))
    assert (f"destinations[0].{path}", code) in found(validate(draft, REQUEST))


def test_repeated_keys_and_too_many_destinations_are_caught() -> None:
    draft = Draft(days=(), destinations=(HONOLULU, HONOLULU))
    assert found(validate(draft, REQUEST)) == {("destinations[1].key", "duplicate_key")}
    assert found(
        validate(
            Draft(days=(), destinations=(HONOLULU, replace(HONOLULU, key="b"))),
            REQUEST,
            Limits(max_destinations=1),
        )
    ) == {("destinations[1]", "too_many_destinations")}


def test_counts_are_bounded_by_the_limits() -> None:
    later = item(idea_key=None, start=datetime(2026, 3, 28, 12), end=datetime(2026, 3, 28, 13))
    draft = Draft(
        days=(
            DraftDay(DAY, (item(), later)),
            DraftDay(
                date(2026, 3, 29),
                (replace(later, start=datetime(2026, 3, 29, 12), end=datetime(2026, 3, 29, 13)),),
            ),
        )
    )
    limits = Limits(max_days=1, max_items_per_day=1, max_items=2)
    assert found(validate(draft, REQUEST, limits)) == {
        ("days[0].items[1]", "too_many_items_in_day"),
        ("days[1]", "too_many_days"),
        ("days[1].items[0]", "too_many_items"),
    }


def test_items_in_different_zones_overlap_as_instants_across_days() -> None:
    # 18:00-19:00 in Honolulu on the 30th is 04:00-05:00 UTC on the 31st: 00:30 in New York.
    honolulu = item(
        destination_id=None,
        new_destination="hono",
        time_zone="Pacific/Honolulu",
        start=datetime(2026, 3, 30, 18),
        end=datetime(2026, 3, 30, 19),
        idea_key=None,
    )
    new_york = item(**NY_31, start=datetime(2026, 3, 31, 0, 30), end=datetime(2026, 3, 31, 1, 30))
    draft = Draft(
        days=(DraftDay(date(2026, 3, 30), (honolulu,)), DraftDay(date(2026, 3, 31), (new_york,))),
        destinations=(HONOLULU,),
    )
    problems = validate(draft, REQUEST)
    assert found(problems) == {("days[1].items[0].start", "overlap")}
    assert "days[0].items[0]" in problems[0].message


def test_a_time_that_happens_twice_is_read_as_its_first_occurrence() -> None:
    autumn = replace(
        REQUEST,
        start_date=date(2026, 10, 24),
        end_date=date(2026, 10, 26),
        places=(
            replace(PARIS, arrival_date=date(2026, 10, 24), departure_date=date(2026, 10, 26)),
        ),
        booked=(),
    )
    fall_back = date(2026, 10, 25)
    # 01:00-02:10 (the first 02:10) and 02:05-02:20 meet only when 02:05 is the first one.
    first = item(start=datetime(2026, 10, 25, 1), end=datetime(2026, 10, 25, 2, 10), idea_key=None)
    second = replace(first, start=datetime(2026, 10, 25, 2, 5), end=datetime(2026, 10, 25, 2, 20))
    assert validate(one_day(first, day=fall_back), autumn) == []
    assert found(validate(one_day(first, second, day=fall_back), autumn)) == {
        ("days[0].items[1].start", "overlap")
    }


def test_messages_are_precise_enough_to_act_on() -> None:
    (problem,) = validate(one_day(item(time_zone="Europe/Berlin")), REQUEST)
    assert problem.message == "Times at this destination are in Europe/Paris, not Europe/Berlin."


# Repair


def test_a_valid_draft_is_returned_as_it_is() -> None:
    draft = one_day(item())
    assert repair(draft, REQUEST) == (draft, [])


def test_repair_fixes_what_has_one_right_fix() -> None:
    draft = Draft(
        days=(
            DraftDay(
                DAY,
                (
                    item(time_zone="Europe/Berlin", title="x" * 300, cost=Decimal("1.239")),
                    item(
                        idea_key=None,
                        start=datetime(2026, 3, 29, 2, 30),
                        end=datetime(2026, 3, 29, 4, 30),
                    ),
                ),
            ),
        ),
    )
    fixed, problems = repair(draft, REQUEST)
    assert validate(fixed, REQUEST) == []
    assert found(problems) >= {
        ("days[0].items[0].time_zone", "wrong_time_zone"),
        ("days[0].items[0].title", "text_too_long"),
        ("days[0].items[0].cost", "invalid_amount"),
        ("days[0].items[1].start", "wrong_day"),
        ("days[0].items[1].start", "nonexistent_local_time"),
    }
    first, moved = fixed.days[0].items[0], fixed.days[1].items[0]
    assert (first.time_zone, len(first.title), first.cost) == ("Europe/Paris", 200, Decimal("1.24"))
    assert fixed.days[1].day == date(2026, 3, 29)
    assert (moved.start, moved.end) == (datetime(2026, 3, 29, 3, 30), datetime(2026, 3, 29, 4, 30))


def test_an_overlapping_item_moves_later_the_same_day() -> None:
    other = item(
        idea_key="idea-2", start=datetime(2026, 3, 28, 10, 30), end=datetime(2026, 3, 28, 12)
    )
    fixed, _ = repair(one_day(item(), other), REQUEST)
    assert [
        (i.start.time().isoformat(), i.end.time().isoformat()) for i in fixed.days[0].items
    ] == [
        ("10:00:00", "11:00:00"),
        ("11:00:00", "12:30:00"),
    ]


def test_an_item_with_no_time_left_that_day_is_dropped_and_its_idea_left_over() -> None:
    late = item(start=datetime(2026, 3, 28, 22), end=datetime(2026, 3, 28, 23, 30), idea_key=None)
    clash = item(start=datetime(2026, 3, 28, 22, 30), end=datetime(2026, 3, 28, 23, 45))
    fixed, _ = repair(one_day(late, clash), REQUEST)
    assert [i.title for i in fixed.days[0].items] == ["Louvre"]
    assert fixed.days[0].items[0].idea_key is None
    assert fixed.leftovers == (
        Leftover(
            "idea-1",
            "Louvre",
            "dropped: it overlapped another item and no later time that day was free",
        ),
    )


def test_an_item_overlapping_a_booked_activity_moves_after_it() -> None:
    draft = one_day(
        item(**NY_31, start=datetime(2026, 3, 31, 9, 30), end=datetime(2026, 3, 31, 10)),
        day=date(2026, 3, 31),
    )
    fixed, _ = repair(draft, REQUEST)
    moved = fixed.days[0].items[0]
    assert (moved.start, moved.end) == (datetime(2026, 3, 31, 11), datetime(2026, 3, 31, 11, 30))


def test_repair_drops_what_cannot_be_kept() -> None:
    draft = Draft(
        days=(
            DraftDay(
                date(2026, 3, 20),
                (item(start=datetime(2026, 3, 20, 10), end=datetime(2026, 3, 20, 11)),),
            ),
            DraftDay(
                DAY,
                (
                    item(destination_id=UUID(int=5), idea_key="idea-2"),
                    item(currency="EURO", idea_key=None),
                ),
            ),
        ),
        summary="Two days.",
    )
    fixed, _ = repair(draft, REQUEST)
    assert fixed.days == (DraftDay(DAY, ()),)
    assert [leftover.key for leftover in fixed.leftovers] == ["idea-1", "idea-2"]
    assert fixed.summary == "Two days. Checking the plan dropped 3 of its items."


BROKEN_DESTINATIONS = (
    HONOLULU,
    replace(HONOLULU, key="late", arrival_date=date(2026, 3, 31), departure_date=date(2026, 4, 5)),
    replace(HONOLULU, key="bad", lat=200.0),
    replace(HONOLULU, key="hono", name="Second Honolulu"),
    replace(HONOLULU, key="", name=""),
    replace(HONOLULU, key="out", arrival_date=date(2026, 4, 3), departure_date=date(2026, 4, 4)),
)
TARGETS = (
    (PARIS_ID, None, "Europe/Paris", date(2026, 3, 28)),
    (NEW_YORK_ID, None, "America/New_York", date(2026, 3, 30)),
    (None, "hono", "Pacific/Honolulu", date(2026, 3, 30)),
    (None, "late", "Pacific/Honolulu", date(2026, 3, 31)),
)
WRONG_TARGETS = (
    (None, "bad", "Pacific/Honolulu", date(2026, 3, 30)),
    (None, "ghost", "UTC", date(2026, 3, 30)),
    (UUID(int=3), None, "UTC", date(2026, 3, 28)),
    (None, None, "Europe/Paris", date(2026, 3, 28)),
    (PARIS_ID, "hono", "Europe/Paris", date(2026, 3, 28)),
    (None, "out", "Pacific/Honolulu", date(2026, 4, 3)),
)


def _broken_draft(rng: random.Random) -> Draft:
    """A draft whose every field is right most of the time, and wrong in some way otherwise."""

    def mostly(right: T, *wrong: T) -> T:
        return rng.choice(wrong) if rng.random() < 0.12 else right

    def some_item() -> DraftItem:
        target = rng.choice(TARGETS) if rng.random() < 0.85 else rng.choice(WRONG_TARGETS)
        day = target[3] + timedelta(days=rng.randint(0, 2))
        start = datetime.combine(day, datetime.min.time()) + timedelta(
            minutes=rng.choice([0, 15, 30, 45]) + 60 * rng.randint(6, 23)
        )
        start = mostly(
            start,
            datetime(2026, 3, 29, 2, 30),  # in Paris's spring-forward gap
            start - timedelta(days=3),
            start.replace(tzinfo=UTC),
        )
        length = mostly(rng.choice([30, 60, 90, 120, 240]), -30, 0, 600, 1500)
        return DraftItem(
            title=mostly(rng.choice(["Walk", "Museum"]), "", " ", "x" * 250),
            description=mostly("nice", "y" * 2500),
            activity_type=rng.choice(list(ActivityType)),
            start=start,
            end=start.replace(tzinfo=None) + timedelta(minutes=length),
            time_zone=mostly(target[2], "Europe/Berlin", "UTC", "Nowhere/Zone"),
            reason=mostly("why", "z" * 600),
            destination_id=target[0],
            new_destination=target[1],
            cost=mostly(Decimal("10"), None, Decimal("10.555"), Decimal("-5"), Decimal("NaN")),
            currency=mostly("EUR", "JPY", "XXX", None, "euro"),
            idea_key=rng.choice([None, None, "idea-1", "idea-2", "cand-1", "nope"]),
        )

    items = [some_item() for _ in range(rng.randint(0, 14))]
    days: dict[date, list[DraftItem]] = {}
    for each in items:
        on = each.start.date() if rng.random() < 0.9 else each.start.date() + timedelta(days=1)
        days.setdefault(on, []).append(each)
    for _ in range(rng.randint(0, 2)):
        days.setdefault(REQUEST.start_date + timedelta(days=rng.randint(-2, 6)), [])
    ordered = sorted(days.items())
    if rng.random() < 0.2:
        rng.shuffle(ordered)
    if ordered and rng.random() < 0.1:
        ordered.append(ordered[0])
    return Draft(
        days=tuple(DraftDay(day, tuple(entries)) for day, entries in ordered),
        destinations=tuple(rng.sample(BROKEN_DESTINATIONS, rng.randint(0, 3))),
        summary=mostly("Arranged.", "s" * 2100),
    )


SMALL = Limits(
    max_days=2,
    max_items_per_day=3,
    max_items=4,
    max_destinations=1,
    max_title=1,
    max_description=5,
    max_reason=0,
)


@pytest.mark.parametrize("limits", [Limits(), SMALL], ids=["default-limits", "small-limits"])
def test_any_draft_comes_out_of_repair_valid(limits: Limits) -> None:
    for seed in range(300):
        draft = _broken_draft(random.Random(seed))
        fixed, problems = repair(draft, REQUEST, limits)
        assert validate(fixed, REQUEST, limits) == [], f"seed {seed}"
        assert problems == validate(draft, REQUEST, limits)
        assert repair(draft, REQUEST, limits) == (fixed, problems)  # deterministic
        placed = {i.idea_key for i in fixed.items()}
        known = {"idea-1", "idea-2", "cand-1"}
        for key in {i.idea_key for i in draft.items()} & known:
            assert key in placed or key in {left.key for left in fixed.leftovers}, f"seed {seed}"


def test_wall_clock_times_past_a_gap_and_within_a_repeated_hour() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert existing(datetime(2026, 3, 29, 2, 30), paris) == datetime(2026, 3, 29, 3, 30)
    assert existing(datetime(2026, 3, 29, 1, 30), paris) == datetime(2026, 3, 29, 1, 30)
    # 01:15 UTC on 25 October is the second 02:15 in Paris, which reads as the first.
    second = datetime(2026, 10, 25, 1, 15, tzinfo=UTC)
    assert wall_not_before(second, paris) == datetime(2026, 10, 25, 3, 15)


# The ask / check / re-ask loop


class ScriptedPlanner:
    """Answers from a script: a draft, or a failure to raise; records the feedback it got."""

    def __init__(self, *answers: Draft | Exception) -> None:
        self.answers = list(answers)
        self.feedback: list[tuple[Problem, ...]] = []

    @property
    def model(self) -> str:
        return "scripted"

    async def plan(self, request: PlanningRequest, feedback: Sequence[Problem] = ()) -> Planned:
        self.feedback.append(tuple(feedback))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        usage = Usage(
            model=f"scripted-{len(self.feedback)}",
            tokens_in=100,
            tokens_out=10,
            cost=Decimal("0.01"),
        )
        return Planned(answer, usage)


VALID = one_day(item())
INVALID = one_day(item(time_zone="Europe/Berlin"))


@pytest.mark.anyio
async def test_a_valid_first_answer_is_taken_as_it_is() -> None:
    checked = await checked_draft(ScriptedPlanner(VALID), REQUEST)
    assert (checked.draft, checked.reasks, checked.repaired) == (VALID, 0, ())
    assert checked.usage == Usage("scripted-1", 100, 10, Decimal("0.01"))


@pytest.mark.anyio
async def test_the_planner_is_asked_again_with_what_was_wrong() -> None:
    planner = ScriptedPlanner(INVALID, VALID)
    checked = await checked_draft(planner, REQUEST)
    assert planner.feedback == [(), tuple(validate(INVALID, REQUEST))]
    assert (checked.draft, checked.reasks, checked.repaired) == (VALID, 1, ())
    assert checked.usage == Usage("scripted-2", 200, 20, Decimal("0.02"), attempts=2)


@pytest.mark.anyio
async def test_what_is_still_wrong_after_the_last_reask_is_repaired() -> None:
    checked = await checked_draft(ScriptedPlanner(INVALID, INVALID, INVALID), REQUEST, reasks=2)
    assert checked.reasks == 2
    assert checked.repaired == tuple(validate(INVALID, REQUEST))
    assert validate(checked.draft, REQUEST) == []
    assert checked.usage.attempts == 3


@pytest.mark.anyio
async def test_a_failure_on_the_first_answer_propagates() -> None:
    with pytest.raises(PlannerTimeoutError):
        await checked_draft(ScriptedPlanner(PlannerTimeoutError("slow")), REQUEST)


@pytest.mark.anyio
async def test_a_failed_reask_falls_back_to_repairing_the_draft_already_had() -> None:
    planner = ScriptedPlanner(INVALID, PlannerUnavailableError("502"))
    checked = await checked_draft(planner, REQUEST)
    assert checked.reasks == 1
    assert validate(checked.draft, REQUEST) == []
    assert checked.draft.days[0].items[0].time_zone == "Europe/Paris"
    assert (checked.usage.tokens_in, checked.usage.attempts) == (100, 2)


@pytest.mark.anyio
async def test_no_reasks_means_straight_to_repair() -> None:
    checked = await checked_draft(ScriptedPlanner(INVALID), REQUEST, reasks=0)
    assert (checked.reasks, validate(checked.draft, REQUEST)) == (0, [])


@pytest.mark.anyio
async def test_the_offline_scheduler_needs_no_reask() -> None:
    checked = await checked_draft(OfflineScheduler(), REQUEST)
    assert (checked.reasks, checked.repaired, checked.usage.model) == (0, (), "offline-scheduler-1")
    assert {i.idea_key for i in checked.draft.items()} == {"idea-1", "idea-2", "cand-1"}
