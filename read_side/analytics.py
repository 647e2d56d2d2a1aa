"""Analytics as the API serves them: one trip's (for its members) and every trip's by day
(for operators), built from the analytics projection's tables. Money is summed per currency
and never converted."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from read_side.views import View

UNSCHEDULED = "unscheduled"  # the day of activities with no start


@dataclass(frozen=True)
class DailyRow:
    day: date
    metric: str
    dimension: str
    amount: Decimal


@dataclass(frozen=True)
class ActiveCounts:
    """Distinct trips and users active on each day, and over the whole range."""

    by_day: dict[date, tuple[int, int]]
    trips: int
    users: int


class AnalyticsStore(Protocol):
    async def trip_figures(self, trip_id: UUID) -> dict[str, Any] | None:
        """The projection's figures of a trip (None: none yet)."""
        ...

    async def messages_by_member(self, trip_id: UUID) -> dict[UUID, int]: ...

    async def daily(self, first: date, last: date) -> list[DailyRow]: ...

    async def active(self, first: date, last: date) -> ActiveCounts: ...


class Amount(View):
    currency: str
    amount: Decimal


class DayBudget(View):
    day: str  # ISO date, or "unscheduled"
    costs: tuple[Amount, ...]
    planned_hours: float


class GroupBudget(View):
    key: str  # a destination id or an activity type
    name: str | None = None  # a destination's name (None: gone since)
    costs: tuple[Amount, ...]
    activities: int


class Contribution(View):
    user_id: UUID
    username: str | None = None
    role: str | None  # None: no longer a member
    did: dict[str, int]  # destinations_added, activities_added, activity_edits, messages_posted…


class TripAnalyticsView(View):
    trip_id: UUID
    currency: str | None
    status: str
    budget: tuple[Amount, ...]  # the whole trip, per currency
    by_day: tuple[DayBudget, ...]
    by_destination: tuple[GroupBudget, ...]
    by_activity_type: tuple[GroupBudget, ...]
    contributions: tuple[Contribution, ...]


def _amounts(sums: dict[str, Decimal]) -> tuple[Amount, ...]:
    return tuple(Amount(currency=c, amount=sums[c]) for c in sorted(sums))


def trip_analytics(
    trip_id: UUID,
    figures: dict[str, Any],
    messages: dict[UUID, int],
    names: Mapping[str, str] | None = None,
    usernames: Mapping[UUID, str] | None = None,
) -> TripAnalyticsView:
    """`names`: destinations' names by id, `usernames`: members' (the trip view knows them;
    the analytics keep none)."""
    names, usernames = names or {}, usernames or {}
    total: dict[str, Decimal] = defaultdict(Decimal)
    days: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    hours: dict[str, float] = defaultdict(float)
    groups: dict[str, dict[str, dict[str, Decimal]]] = {"destination": {}, "type": {}}
    counts: dict[str, dict[str, int]] = {"destination": defaultdict(int), "type": defaultdict(int)}
    for destination_id in figures["destinations"]:
        groups["destination"][destination_id] = defaultdict(Decimal)
    for activity in figures["activities"].values():
        start = activity["start_local"]
        day = UNSCHEDULED if start is None else datetime.fromisoformat(start).date().isoformat()
        days[day]
        if activity["start_utc"] and activity["end_utc"]:
            length = datetime.fromisoformat(activity["end_utc"]) - datetime.fromisoformat(
                activity["start_utc"]
            )
            hours[day] += length.total_seconds() / 3600
        for group, key in (("destination", activity["destination_id"]), ("type", None)):
            name = key or activity["activity_type"]
            groups[group].setdefault(name, defaultdict(Decimal))
            counts[group][name] += 1
        if activity["cost"] is None:
            continue
        cost, currency = Decimal(activity["cost"]), activity["currency"] or "XXX"
        total[currency] += cost
        days[day][currency] += cost
        groups["destination"][activity["destination_id"]][currency] += cost
        groups["type"][activity["activity_type"]][currency] += cost
    contributors = set(figures["contributions"]) | {str(u) for u in messages}
    return TripAnalyticsView(
        trip_id=trip_id,
        currency=figures["currency"],
        status=figures["status"],
        budget=_amounts(total),
        by_day=tuple(
            DayBudget(day=d, costs=_amounts(days[d]), planned_hours=round(hours[d], 2))
            for d in sorted(days, key=lambda d: (d == UNSCHEDULED, d))
        ),
        by_destination=_groups(groups["destination"], counts["destination"], names),
        by_activity_type=_groups(groups["type"], counts["type"]),
        contributions=tuple(
            Contribution(
                user_id=UUID(user),
                username=usernames.get(UUID(user)),
                role=figures["members"].get(user),
                did={
                    **figures["contributions"].get(user, {}),
                    **({"messages_posted": n} if (n := messages.get(UUID(user))) else {}),
                },
            )
            for user in sorted(contributors)
        ),
    )


def _groups(
    sums: dict[str, dict[str, Decimal]],
    counts: dict[str, int],
    names: Mapping[str, str] | None = None,
) -> tuple[GroupBudget, ...]:
    return tuple(
        GroupBudget(
            key=key,
            name=None if names is None else names.get(key),
            costs=_amounts(sums[key]),
            activities=counts.get(key, 0),
        )
        for key in sorted(sums)
    )


class DayFigures(View):
    day: date
    active_trips: int
    active_users: int
    figures: dict[str, dict[str, Decimal]]  # metric → dimension ("" for none) → amount


class OverviewView(View):
    first_day: date
    last_day: date
    active_trips: int  # distinct over the range
    active_users: int
    totals: dict[str, dict[str, Decimal]]
    days: tuple[DayFigures, ...]  # only days with activity


def overview(first: date, last: date, rows: list[DailyRow], active: ActiveCounts) -> OverviewView:
    per_day: dict[date, dict[str, dict[str, Decimal]]] = defaultdict(dict)
    totals: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        per_day[row.day].setdefault(row.metric, {})[row.dimension] = row.amount
        metric = totals.setdefault(row.metric, {})
        metric[row.dimension] = metric.get(row.dimension, Decimal(0)) + row.amount
    days = sorted(set(per_day) | set(active.by_day))
    return OverviewView(
        first_day=first,
        last_day=last,
        active_trips=active.trips,
        active_users=active.users,
        totals=totals,
        days=tuple(
            DayFigures(
                day=day,
                active_trips=active.by_day.get(day, (0, 0))[0],
                active_users=active.by_day.get(day, (0, 0))[1],
                figures=per_day.get(day, {}),
            )
            for day in days
        ),
    )
