"""The offline scheduler: arranges the trip's ideas (then recommendations) into its days
without a model, deterministically: each at the usual hours of its kind, at the pace the
travellers asked for, around what is already booked, within the budget, in a tour that
walks from each place to the nearest next."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from write_side.planner.activity_times import (
    ACTIVITIES_PER_DAY,
    ARRIVING,
    DEPARTING,
    FIXED,
    MEALS_PER_DAY,
    MINUTES,
    WHOLE_DAY,
    counts_toward_pace,
    windows_for,
)
from write_side.planner.day_slots import Segment, Stop, Task, kilometres, lay_out
from write_side.planner.draft_rules import DEFAULT_LIMITS, Span, clip, money_fault, span_of
from write_side.planner.drafting import (
    Draft,
    DraftDay,
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
from write_side.planner.idea_choice import Budget, Choice, choices
from write_side.planner.wall_clock import zone_named
from write_side.trips.itinerary import ActivityType

MODEL = "offline-scheduler-1"
NEIGHBOUR_DAYS = 2  # days whose items a day's items may meet in UTC (zones up to 26 h apart)


class OfflineScheduler:
    """The planner that needs no model: `schedule` behind the planner port."""

    @property
    def model(self) -> str:
        return MODEL

    async def plan(self, request: PlanningRequest, feedback: Sequence[Problem] = ()) -> Planned:
        return Planned(schedule(request), Usage(model=MODEL))

    async def aclose(self) -> None:
        return None  # holds nothing


def schedule(request: PlanningRequest, limits: Limits = DEFAULT_LIMITS) -> Draft:
    """The trip's ideas arranged into its days; what does not fit is a leftover, with why."""
    calendar = _Calendar.of(request, limits)
    budget = Budget.of(request.preferences, request.currency)
    to_place, leftovers = choices(request)
    whys: dict[str, str] = {}
    for choice in to_place:
        refusal = _place(choice, calendar, budget, request)
        if refusal is None:
            budget.spend(choice.idea)
            whys[choice.idea.key] = _why(choice, budget)
        else:
            leftovers.append(Leftover(choice.idea.key, choice.idea.title, refusal))
    order = {idea.key: n for n, idea in enumerate((*request.ideas, *request.candidates))}
    leftovers.sort(key=lambda leftover: order.get(leftover.key, len(order)))
    return Draft(
        days=tuple(
            DraftDay(day, tuple(_item(stop, whys[stop.task.idea.key], limits) for stop in stops))
            for day, stops in calendar.stops.items()
        ),
        leftovers=tuple(leftovers),
        summary=_summary(request, calendar, leftovers, budget),
    )


@dataclass
class _Calendar:
    """The trip's days, each with the places it is spent at, its tasks and their times."""

    limits: Limits
    pace: int
    segments: dict[date, list[Segment]]
    booked: list[Span]
    booked_activities: Counter[date]
    booked_meals: Counter[date]
    tasks: dict[date, list[Task]] = field(default_factory=dict)
    stops: dict[date, list[Stop]] = field(default_factory=dict)

    @classmethod
    def of(cls, request: PlanningRequest, limits: Limits) -> _Calendar:
        segments: dict[date, list[Segment]] = {}
        day = request.start_date
        while day <= request.end_date and len(segments) < limits.max_days:
            if here := _segments(day, request.places):
                segments[day] = here
            day += timedelta(days=1)
        booked = [
            (entry, span)
            for entry in request.booked
            if (span := span_of(entry.start, entry.end, entry.time_zone)) is not None
        ]
        return cls(
            limits=limits,
            pace=ACTIVITIES_PER_DAY[request.preferences.pace],
            segments=segments,
            booked=[span for _, span in booked],
            booked_activities=Counter(
                entry.start.date() for entry, _ in booked if counts_toward_pace(entry.activity_type)
            ),
            booked_meals=Counter(
                entry.start.date()
                for entry, _ in booked
                if entry.activity_type == ActivityType.RESTAURANT
            ),
            tasks={day: [] for day in segments},
            stops={day: [] for day in segments},
        )

    def days_at(self, place: Place, check_in: bool) -> list[date]:
        """The days with time at a place (for a check-in, only the first)."""
        days = [
            day
            for day, here in self.segments.items()
            if any(s.place.destination_id == place.destination_id for s in here)
        ]
        return days[:1] if check_in else days

    def load(self, day: date, task: Task) -> int:
        if task.idea.activity_type == ActivityType.RESTAURANT:
            return self.booked_meals[day] + sum(
                t.idea.activity_type == ActivityType.RESTAURANT for t in self.tasks[day]
            )
        if counts_toward_pace(task.idea.activity_type):
            return self.booked_activities[day] + sum(
                counts_toward_pace(t.idea.activity_type) for t in self.tasks[day]
            )
        return 0

    def has_room(self, day: date, task: Task) -> bool:
        kind = task.idea.activity_type
        if len(self.tasks[day]) >= self.limits.max_items_per_day:
            return False
        if kind == ActivityType.RESTAURANT:
            return self.load(day, task) < MEALS_PER_DAY
        return not counts_toward_pace(kind) or self.load(day, task) < self.pace

    def full(self) -> bool:
        return sum(len(tasks) for tasks in self.tasks.values()) >= self.limits.max_items

    def try_add(self, day: date, task: Task) -> bool:
        tasks = [*self.tasks[day], task]
        plan = [
            (segment, [t for t in tasks if t.place.destination_id == segment.place.destination_id])
            for segment in self.segments[day]
        ]
        stops = lay_out(day, plan, self._busy_around(day))
        if stops is None:
            return False
        self.tasks[day] = tasks
        self.stops[day] = sorted(stops, key=lambda stop: stop.span.start)
        return True

    def _busy_around(self, day: date) -> list[Span]:
        near = [
            stop.span
            for other, stops in self.stops.items()
            if other != day and abs((other - day).days) <= NEIGHBOUR_DAYS
            for stop in stops
        ]
        return [*self.booked, *near]


def _segments(day: date, places: Sequence[Place]) -> list[Segment]:
    """Where a day is spent: at its one place; or, on a travel day, the morning at the
    place being left and from mid-afternoon at the next."""
    here = sorted(
        (
            p
            for p in places
            if p.arrival_date <= day <= p.departure_date and zone_named(p.time_zone)
        ),
        key=lambda p: (p.arrival_date, p.departure_date),
    )
    if len(here) <= 1:
        return [Segment(p, WHOLE_DAY) for p in here]
    return [Segment(here[0], DEPARTING), Segment(here[-1], ARRIVING)]


def _place(
    choice: Choice, calendar: _Calendar, budget: Budget, request: PlanningRequest
) -> str | None:
    """Places the idea on a day (the least busy first); None, or why it could not be."""
    idea = choice.idea
    places = _places_for(idea, request)
    if isinstance(places, str):
        return places
    if not budget.allows(idea):
        return "over budget"
    if calendar.full():
        return f"the draft is full ({calendar.limits.max_items} items)"
    check_in = idea.activity_type == ActivityType.HOTEL
    had_room = False
    for place in places:
        task = _task(idea, place)
        days = calendar.days_at(place, check_in)
        for day in sorted(days, key=lambda d: (calendar.load(d, task), d)):
            if calendar.has_room(day, task):
                had_room = True
                if calendar.try_add(day, task):
                    return None
    names = " or ".join(place.name for place in places)
    if not had_room:
        what = "meals" if idea.activity_type == ActivityType.RESTAURANT else "activities"
        return f"no day at {names} had room for more {what} at this pace"
    return f"no free {_task(idea, places[0]).minutes} minutes within its hours at {names}"


def _places_for(idea: Idea, request: PlanningRequest) -> list[Place] | str:
    """Where an idea may go: its destination; else the nearest to it; else any, in order."""
    if idea.destination_id is not None:
        place = request.place(idea.destination_id)
        return [place] if place is not None else "its destination is not one of the trip's"
    if not request.places:
        return "the trip has no destination"
    if idea.lat is None or idea.lng is None:
        return list(request.places)
    point = (idea.lat, idea.lng)
    return [min(request.places, key=lambda p: kilometres(point, (p.lat, p.lng)))]


def _task(idea: Idea, place: Place) -> Task:
    minutes = idea.duration_minutes
    return Task(
        idea=idea,
        place=place,
        minutes=minutes if minutes is not None and minutes > 0 else MINUTES[idea.activity_type],
        windows=windows_for(idea.activity_type, idea.title, idea.description),
        fixed=idea.activity_type in FIXED,
    )


def _why(choice: Choice, budget: Budget) -> str:
    idea = choice.idea
    if budget.unknown(idea):
        return (
            f"{choice.why} (its cost in {idea.currency or 'no currency'} is not counted "
            f"against the budget in {budget.currency or 'no currency'})"
        )
    return choice.why


def _item(stop: Stop, why: str, limits: Limits) -> DraftItem:
    idea, place = stop.task.idea, stop.task.place
    cost, currency = idea.cost, idea.currency
    if money_fault(cost, currency) is not None:
        cost, currency = None, None
        why += " (its cost was left out: not an amount of a currency)"
    return DraftItem(
        title=clip(idea.title, limits.max_title),
        description=clip(idea.description, limits.max_description),
        activity_type=idea.activity_type,
        start=stop.start,
        end=stop.end,
        time_zone=place.time_zone,
        reason=clip(why, limits.max_reason),
        destination_id=place.destination_id,
        cost=cost,
        currency=currency,
        idea_key=idea.key,
    )


def _summary(
    request: PlanningRequest, calendar: _Calendar, leftovers: list[Leftover], budget: Budget
) -> str:
    days = len(calendar.segments)
    placed = {stop.task.idea.key for stops in calendar.stops.values() for stop in stops}
    ideas = [idea for idea in request.ideas if idea.key in placed]
    picked = [idea for idea in request.candidates if idea.key in placed]
    text = f"Arranged {len(ideas)} of {len(request.ideas)} ideas"
    if request.candidates:
        text += f" and {len(picked)} of {len(request.candidates)} recommendations"
    text += f" over {days} day{'s' if days != 1 else ''}"
    text += f"; {len(leftovers)} did not fit." if leftovers else "."
    if budget.uncounted:
        text += f" {budget.uncounted} cost(s) in another currency were not counted in the budget."
    return text
