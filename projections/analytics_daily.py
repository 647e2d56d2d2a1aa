"""What each fact adds to the day it counts in: the daily aggregates (`metric`, a
`dimension` of it, an amount) and who and which trip were active. Pure; no I/O.

Spend is net: an activity's cost counts when it is planned, moves when its cost changes,
and leaves when it is dropped; per currency, never converted.
"""

from __future__ import annotations

from decimal import Decimal

from streams import analytics_contracts as a

Count = tuple[str, str, Decimal]  # metric, dimension ("" for none), amount

ONE = Decimal(1)


def counts_of(fact: a.Fact) -> list[Count]:
    if isinstance(fact, a.TripCreatedFact):
        return [("trips_created", "", ONE)]
    if isinstance(fact, a.TripCompletedFact):
        return [("trips_completed", "", ONE)]
    if isinstance(fact, a.DestinationAddedFact):
        return [("destinations_added", fact.payload.place.country or "unknown", ONE)]
    if isinstance(fact, a.ActivityPlannedFact):
        p = fact.payload
        return [("activities_planned", p.activity_type, ONE), *_spend(p.cost, p.currency)]
    if isinstance(fact, a.ActivityRevisedFact):
        r = fact.payload
        before = _spend(r.previous_cost, r.previous_currency, sign=-1)
        return [*before, *_spend(r.cost, r.currency)]
    if isinstance(fact, a.ActivityDroppedFact):
        d = fact.payload
        return [("activities_dropped", d.activity_type, ONE), *_spend(d.cost, d.currency, -1)]
    if isinstance(fact, a.MemberJoinedFact):
        return [("members_joined", fact.payload.role, ONE)]
    if isinstance(fact, a.MessagePostedFact):
        return [("messages_posted", fact.payload.message_type, ONE)]
    if isinstance(fact, a.SyncConflictFact):
        return [("sync_conflicts", fact.payload.entity_type, ONE)]
    raise TypeError(f"no daily counts for {fact.event_type}")


def _spend(cost: Decimal | None, currency: str | None, sign: int = 1) -> list[Count]:
    if cost is None or not cost:
        return []
    return [("spend", currency or "XXX", cost * sign)]


def active_of(fact: a.Fact) -> list[tuple[str, str]]:
    """The trip and the user a fact shows active on its day (a system message's actor is
    whoever caused it)."""
    return [("trip", str(fact.trip_id)), ("user", str(fact.actor_id))]
