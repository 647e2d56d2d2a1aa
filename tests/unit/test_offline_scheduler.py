"""The offline scheduler on hand-made trips: zones and travel days, daylight-saving changes,
meals, pace, what is booked, the tour order, the budget, leftovers, and that every draft it
makes is valid and the same every time."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any
from uuid import UUID

import pytest

from write_side.planner.draft_rules import span_of
from write_side.planner.drafting import (
    Booked,
    Draft,
    DraftItem,
    Idea,
    Pace,
    Place,
    PlanningRequest,
    Preferences,
    Usage,
)
from write_side.planner.scheduler import OfflineScheduler, schedule
from write_side.planner.validation import validate
from write_side.trips.itinerary import ActivityType

LISBON_ID, NEW_YORK_ID, PARIS_ID = UUID(int=1), UUID(int=2), UUID(int=3)
LISBON = Place(
    LISBON_ID, "Lisbon", "", 38.7223, -9.1393, "Europe/Lisbon", date(2026, 5, 1), date(2026, 5, 3)
)
NEW_YORK = Place(
    NEW_YORK_ID,
    "New York",
    "",
    40.7128,
    -74.006,
    "America/New_York",
    date(2026, 5, 3),
    date(2026, 5, 5),
)
PARIS = Place(
    PARIS_ID, "Paris", "", 48.8566, 2.3522, "Europe/Paris", date(2026, 3, 28), date(2026, 3, 30)
)
SIGHT, MEAL, OTHER = ActivityType.SIGHTSEEING, ActivityType.RESTAURANT, ActivityType.OTHER


def idea(key: str, kind: ActivityType = SIGHT, **fields: Any) -> Idea:
    return Idea(
        key=key, title=f"Idea {key}", description="", activity_type=kind, source="idea", **fields
    )


def trip(*places: Place, **fields: Any) -> PlanningRequest:
    return PlanningRequest(
        trip_id=UUID(int=99),
        title="Trip",
        description="",
        start_date=min(p.arrival_date for p in places),
        end_date=max(p.departure_date for p in places),
        currency="EUR",
        places=places,
        **fields,
    )


def one_day_in_paris(**fields: Any) -> PlanningRequest:
    day = date(2026, 6, 10)
    return trip(replace(PARIS, arrival_date=day, departure_date=day), **fields)


def by_key(draft: Draft) -> dict[str, DraftItem]:
    return {item.idea_key or "": item for item in draft.items()}


def assert_valid_and_apart(draft: Draft, request: PlanningRequest) -> None:
    assert validate(draft, request) == []
    spans = sorted(
        (span for item in draft.items() if (span := span_of(item.start, item.end, item.time_zone))),
        key=lambda span: span.start,
    )
    assert all(a.end <= b.start for a, b in pairwise(spans))


def test_a_trip_across_zones_keeps_each_side_of_the_travel_day_in_its_own_zone() -> None:
    ideas = tuple(
        [idea(f"lis-{n}", destination_id=LISBON_ID) for n in range(6)]
        + [idea(f"nyc-{n}", destination_id=NEW_YORK_ID) for n in range(6)]
        + [idea("lis-lunch", MEAL, destination_id=LISBON_ID)]
        + [idea("nyc-dinner", MEAL, destination_id=NEW_YORK_ID)]
    )
    request = trip(LISBON, NEW_YORK, ideas=ideas)
    draft = schedule(request)

    assert [day.day for day in draft.days] == [date(2026, 5, d) for d in range(1, 6)]
    travel_day = next(day for day in draft.days if day.day == date(2026, 5, 3))
    zones = {item.time_zone for item in travel_day.items}
    assert zones == {"Europe/Lisbon", "America/New_York"}
    for item in travel_day.items:
        if item.destination_id == LISBON_ID:
            assert (item.time_zone, item.end.time() <= time(14)) == ("Europe/Lisbon", True)
        else:
            assert (item.time_zone, item.start.time() >= time(15)) == ("America/New_York", True)
    for item in draft.items():
        place = LISBON if item.destination_id == LISBON_ID else NEW_YORK
        assert item.time_zone == place.time_zone
        assert place.arrival_date <= item.start.date() <= place.departure_date
    assert_valid_and_apart(draft, request)


@pytest.mark.parametrize(
    "change", [date(2026, 3, 29), date(2026, 10, 25)], ids=["spring", "autumn"]
)
def test_a_daylight_saving_day_has_only_real_times_and_no_overlaps(change: date) -> None:
    paris = replace(PARIS, arrival_date=change - timedelta(days=1), departure_date=change)
    night_out = Booked(
        UUID(int=50),
        PARIS_ID,
        "Night train",
        ActivityType.TRANSPORT,
        datetime.combine(change, time(1, 30)),
        datetime.combine(change, time(9, 30)),
        "Europe/Paris",
    )
    ideas = tuple(idea(f"i{n}", kind) for n, kind in enumerate([SIGHT, OTHER, MEAL, MEAL] * 3))
    request = trip(
        paris, ideas=ideas, booked=(night_out,), preferences=Preferences(pace=Pace.PACKED)
    )
    draft = schedule(request)

    on_change = [item for item in draft.items() if item.start.date() == change]
    assert on_change
    assert all(item.start >= datetime.combine(change, time(9, 45)) for item in on_change)
    assert_valid_and_apart(draft, request)


def test_a_one_day_trip_has_one_day() -> None:
    request = one_day_in_paris(ideas=(idea("a"), idea("b", MEAL)))
    draft = schedule(request)
    assert [day.day for day in draft.days] == [date(2026, 6, 10)]
    assert set(by_key(draft)) == {"a", "b"}
    assert draft.summary == "Arranged 2 of 2 ideas over 1 day."


def test_what_does_not_fit_is_left_over_with_why() -> None:
    ideas = tuple(idea(f"i{n}") for n in range(5)) + tuple(idea(f"m{n}", MEAL) for n in range(3))
    request = one_day_in_paris(ideas=ideas, preferences=Preferences(pace=Pace.RELAXED))
    draft = schedule(request)

    placed = by_key(draft)
    assert len(placed) + len(draft.leftovers) == len(ideas)
    assert set(placed) | {left.key for left in draft.leftovers} == {i.key for i in ideas}
    assert set(placed) == {"i0", "i1", "m0", "m1"}
    reasons = {left.key: left.reason for left in draft.leftovers}
    assert reasons["i4"] == "no day at Paris had room for more activities at this pace"
    assert reasons["m2"] == "no day at Paris had room for more meals at this pace"
    assert draft.summary == "Arranged 4 of 8 ideas over 1 day; 4 did not fit."


def test_meals_are_at_lunch_and_dinner_times() -> None:
    draft = schedule(one_day_in_paris(ideas=(idea("lunch", MEAL), idea("dinner", MEAL))))
    lunch, dinner = by_key(draft)["lunch"], by_key(draft)["dinner"]
    assert (lunch.start.time(), lunch.end.time()) == (time(12), time(13, 30))
    assert time(19) <= dinner.start.time() and dinner.end.time() <= time(21, 30)
    assert dinner.end - dinner.start == timedelta(minutes=90)


def test_a_meal_that_says_which_it_is_is_had_at_its_hours() -> None:
    named = (
        replace(idea("kaiseki", MEAL), title="Kaiseki dinner"),
        replace(idea("cafe", MEAL), title="Croissants", description="Breakfast by the river"),
    )
    draft = schedule(one_day_in_paris(ideas=named))
    kaiseki, cafe = by_key(draft)["kaiseki"], by_key(draft)["cafe"]
    assert time(19) <= kaiseki.start.time() and kaiseki.end.time() <= time(21, 30)
    assert time(7, 30) <= cafe.start.time() and cafe.end.time() <= time(10)


@pytest.mark.parametrize(
    ("pace", "most"), [(Pace.RELAXED, 2), (Pace.MODERATE, 3), (Pace.PACKED, 5)]
)
def test_the_pace_bounds_the_activities_of_a_day(pace: Pace, most: int) -> None:
    ideas = tuple(idea(f"i{n}", OTHER, duration_minutes=45) for n in range(20))
    meals = (idea("lunch", MEAL), idea("dinner", MEAL))
    request = trip(PARIS, ideas=ideas + meals, preferences=Preferences(pace=pace))
    draft = schedule(request)
    for day in draft.days:
        activities = [i for i in day.items if i.activity_type != MEAL]
        assert len(activities) == most
        assert all(i.end - i.start == timedelta(minutes=45) for i in activities)
    assert_valid_and_apart(draft, request)


def test_booked_activities_are_planned_around_even_in_another_zone() -> None:
    museum = Booked(
        UUID(int=60),
        PARIS_ID,
        "Orsay",
        SIGHT,
        datetime(2026, 6, 10, 9),
        datetime(2026, 6, 10, 12),
        "Europe/Paris",
    )
    call = Booked(
        UUID(int=61),
        PARIS_ID,
        "Call home",
        OTHER,
        datetime(2026, 6, 10, 8),
        datetime(2026, 6, 10, 9),
        "America/New_York",
    )
    request = one_day_in_paris(
        ideas=(idea("a", duration_minutes=90), idea("b", duration_minutes=90)),
        booked=(museum, call),
        preferences=Preferences(pace=Pace.PACKED),  # the booked two count toward it
    )
    draft = schedule(request)

    times = sorted((i.start.time(), i.end.time()) for i in draft.items())
    # 08:00-09:00 in New York is 14:00-15:00 in Paris; 15 minutes are kept around each.
    assert times == [(time(12, 15), time(13, 45)), (time(15, 15), time(16, 45))]
    booked_spans = [span_of(b.start, b.end, b.time_zone) for b in (museum, call)]
    for item in draft.items():
        mine = span_of(item.start, item.end, item.time_zone)
        assert mine is not None
        assert not any(mine.overlaps(b) for b in booked_spans if b is not None)
    assert_valid_and_apart(draft, request)


def test_a_day_is_a_tour_from_each_stop_to_the_nearest_next() -> None:
    ideas = (
        idea("far", OTHER, lat=48.8566, lng=2.45, duration_minutes=60),
        idea("near", OTHER, lat=48.8600, lng=2.3522, duration_minutes=60),
        idea("middle", OTHER, lat=48.8700, lng=2.3600, duration_minutes=60),
        idea("no-point", OTHER, duration_minutes=60),
    )
    request = one_day_in_paris(ideas=ideas, preferences=Preferences(pace=Pace.PACKED))
    draft = schedule(request)
    (day,) = draft.days
    assert [i.idea_key for i in day.items] == ["no-point", "near", "middle", "far"]
    assert [i.start.time() for i in day.items] == [
        time(9),
        time(10, 15),
        time(11, 30),
        time(12, 45),
    ]


def test_an_idea_goes_to_its_destination_or_the_nearest() -> None:
    ideas = (
        idea("brooklyn", lat=40.6782, lng=-73.9442),
        idea("belem", lat=38.6916, lng=-9.2160),
        idea("pinned", destination_id=NEW_YORK_ID, lat=38.7, lng=-9.1),
        idea("anywhere"),
    )
    draft = schedule(trip(LISBON, NEW_YORK, ideas=ideas))
    placed = by_key(draft)
    assert placed["brooklyn"].destination_id == NEW_YORK_ID
    assert placed["belem"].destination_id == LISBON_ID
    assert placed["pinned"].destination_id == NEW_YORK_ID
    assert placed["anywhere"].destination_id == LISBON_ID


def test_must_sees_go_first_and_avoided_ideas_are_left_out() -> None:
    candidate = replace(idea("tower", reason="the view"), source="candidate", title="Eiffel Tower")
    ideas = (idea("a"), idea("b"), idea("c"), replace(idea("d"), description="A crowded tour"))
    request = one_day_in_paris(
        ideas=ideas,
        candidates=(candidate, replace(candidate, key="other", title="Sainte-Chapelle", reason="")),
        preferences=Preferences(pace=Pace.MODERATE, must_see=("eiffel",), avoid=("CROWDED",)),
    )
    draft = schedule(request)
    placed = by_key(draft)
    assert set(placed) == {"tower", "a", "b"}
    assert placed["tower"].reason == "must-see"
    assert placed["a"].reason == "your idea"
    reasons = {left.key: left.reason for left in draft.leftovers}
    assert reasons["d"] == "avoided: CROWDED"
    assert [left.key for left in draft.leftovers] == ["c", "d", "other"]


def test_a_candidate_says_why_it_was_recommended() -> None:
    candidate = replace(idea("tower", reason="the view"), source="candidate")
    draft = schedule(one_day_in_paris(candidates=(candidate,)))
    assert by_key(draft)["tower"].reason == "recommended: the view"
    assert draft.summary == "Arranged 0 of 0 ideas and 1 of 1 recommendations over 1 day."


def test_the_budget_stops_costly_ideas_and_names_costs_it_cannot_weigh() -> None:
    ideas = (
        idea("a", cost=Decimal("30"), currency="EUR"),
        idea("b", cost=Decimal("30"), currency="EUR"),
        idea("c", cost=Decimal("15"), currency="EUR"),
        idea("d", cost=Decimal("99"), currency="USD"),
    )
    request = one_day_in_paris(
        ideas=ideas, preferences=Preferences(pace=Pace.PACKED, budget=Decimal("50"))
    )
    draft = schedule(request)
    placed = by_key(draft)
    assert set(placed) == {"a", "c", "d"}
    assert [(left.key, left.reason) for left in draft.leftovers] == [("b", "over budget")]
    assert (placed["a"].cost, placed["a"].currency) == (Decimal("30"), "EUR")
    assert "USD is not counted against the budget in EUR" in placed["d"].reason
    assert "1 cost(s) in another currency were not counted" in draft.summary


def test_durations_check_ins_and_transport_keep_their_hours() -> None:
    ideas = (
        idea("hotel", ActivityType.HOTEL, destination_id=NEW_YORK_ID),
        idea("ferry", ActivityType.TRANSPORT, destination_id=LISBON_ID),
        idea("long", duration_minutes=45, destination_id=LISBON_ID),
    )
    placed = by_key(schedule(trip(LISBON, NEW_YORK, ideas=ideas)))
    hotel = placed["hotel"]
    assert (hotel.start, hotel.end) == (datetime(2026, 5, 3, 15), datetime(2026, 5, 3, 15, 30))
    assert placed["ferry"].end - placed["ferry"].start == timedelta(hours=1)
    assert placed["long"].end - placed["long"].start == timedelta(minutes=45)


def test_ideas_with_nowhere_to_go_are_left_over() -> None:
    request = one_day_in_paris(
        ideas=(idea("lost", destination_id=UUID(int=404)), idea("long", duration_minutes=900))
    )
    draft = schedule(request)
    assert draft.items() == []
    assert {left.key: left.reason for left in draft.leftovers} == {
        "lost": "its destination is not one of the trip's",
        "long": "no free 900 minutes within its hours at Paris",
    }


def _random_trip(rng: random.Random) -> PlanningRequest:
    zones = [
        "Europe/Paris",
        "America/New_York",
        "Asia/Tokyo",
        "Australia/Lord_Howe",
        "Pacific/Kiritimati",
        "Pacific/Pago_Pago",
    ]
    start = date(2026, rng.choice([3, 10, 4]), rng.randint(1, 28))
    places, day = [], start
    for n in range(rng.randint(1, 4)):
        stay = rng.randint(0, 3)
        places.append(
            Place(
                UUID(int=n + 1),
                f"P{n}",
                "",
                rng.uniform(-60, 60),
                rng.uniform(-179, 179),
                rng.choice(zones),
                day,
                day + timedelta(days=stay),
            )
        )
        day += timedelta(days=stay + rng.choice([0, 0, 1]))
    kinds = list(ActivityType)
    ideas = tuple(
        Idea(
            f"k{n}",
            f"Idea {n}",
            "",
            rng.choice(kinds),
            rng.choice(["idea", "candidate"]),
            destination_id=rng.choice([None, *(p.destination_id for p in places)]),
            lat=rng.choice([None, rng.uniform(-60, 60)]),
            lng=rng.uniform(-179, 179),
            duration_minutes=rng.choice([None, 30, 200]),
            cost=rng.choice([None, Decimal("12.50")]),
            currency=rng.choice(["EUR", "USD"]),
        )
        for n in range(rng.randint(0, 30))
    )
    booked = tuple(
        Booked(
            UUID(int=100 + n),
            places[0].destination_id,
            "B",
            rng.choice(kinds),
            when,
            when + timedelta(hours=rng.randint(1, 5)),
            rng.choice(zones),
        )
        for n in range(rng.randint(0, 4))
        if (
            when := datetime.combine(
                start + timedelta(days=rng.randint(0, 3)), time(rng.randint(0, 20))
            )
        )
    )
    return trip(
        *places,
        ideas=ideas,
        booked=booked,
        preferences=Preferences(
            pace=rng.choice(list(Pace)), budget=rng.choice([None, Decimal("40")])
        ),
    )


def test_every_draft_is_valid_deterministic_and_accounts_for_every_idea() -> None:
    for seed in range(60):
        request = _random_trip(random.Random(seed))
        draft = schedule(request)
        assert draft == schedule(request), f"seed {seed}"
        assert validate(draft, request) == [], f"seed {seed}"
        keys = Counter(i.idea_key for i in draft.items()) + Counter(
            left.key for left in draft.leftovers
        )
        assert keys == Counter(i.key for i in (*request.ideas, *request.candidates)), f"seed {seed}"


def test_booked_activities_count_toward_the_pace() -> None:
    booked = tuple(
        Booked(
            UUID(int=n),
            PARIS_ID,
            "Tour",
            SIGHT,
            datetime(2026, 6, 10, h),
            datetime(2026, 6, 10, h + 1),
            "Europe/Paris",
        )
        for n, h in enumerate((9, 11))
    )
    request = one_day_in_paris(
        ideas=(idea("a"), idea("lunch", MEAL)),
        booked=booked,
        preferences=Preferences(pace=Pace.RELAXED),
    )
    draft = schedule(request)
    assert set(by_key(draft)) == {"lunch"}
    assert draft.leftovers[0].key == "a"


def test_a_trip_with_no_destination_leaves_every_idea_over() -> None:
    request = replace(one_day_in_paris(ideas=(idea("a"),)), places=())
    draft = schedule(request)
    assert (draft.days, draft.leftovers[0].reason) == ((), "the trip has no destination")


@pytest.mark.anyio
async def test_the_offline_scheduler_is_a_planner() -> None:
    scheduler = OfflineScheduler()
    request = one_day_in_paris(ideas=(idea("a"),))
    planned = await scheduler.plan(request, feedback=())
    assert scheduler.model == "offline-scheduler-1"
    assert planned.draft == schedule(request)
    assert planned.usage == Usage(
        model="offline-scheduler-1", tokens_in=0, tokens_out=0, cost=Decimal(0)
    )
