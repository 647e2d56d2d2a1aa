"""The analytics projection's facts and figures, folded from real trip and chat events."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import uuid4

from projections.analytics import ANALYTICS
from projections.analytics_daily import counts_of
from projections.analytics_state import Analytics
from streams import analytics_contracts as a
from streams.contracts import EventEnvelope
from streams.outbox import OutboxReader
from streams.position import START
from write_side.chat.commands import PostMessage
from write_side.chat.service import Chat
from write_side.context import CommandContext, acting_as
from write_side.event_store import EventStore
from write_side.identity.user import User
from write_side.trips.access import Role, TripStatus
from write_side.trips.commands import (
    AddActivity,
    AddDestination,
    AddMember,
    PlanTrip,
    RemoveDestination,
    UpdateActivity,
    UpdateDestination,
    UpdateTripDetails,
    When,
)
from write_side.trips.itinerary import ActivityType
from write_side.trips.planner import TripPlanner


def _history() -> tuple[EventStore, CommandContext, list[EventEnvelope]]:
    events = EventStore()
    planner, owner = TripPlanner(events), CommandContext(uuid4(), uuid4())
    trip = planner.plan_trip(
        PlanTrip("Honeymoon in Kyoto", "secret plans", date(2027, 4, 1), date(2027, 4, 10)),
        owner,
    )
    kyoto = planner.add_destination(
        AddDestination(
            trip.trip_id,
            "Kyoto",
            "",
            {"lat": 35.0116, "lng": 135.7681, "address": "Somewhere 1"},
            date(2027, 4, 2),
            date(2027, 4, 6),
        ),
        owner,
    )
    dinner = planner.add_activity(
        AddActivity(
            kyoto.id,
            "Kaiseki at Mrs Tanaka's",
            "",
            ActivityType.RESTAURANT,
            start=When(datetime(2027, 4, 3, 19, 0), "Asia/Tokyo"),
            end=When(datetime(2027, 4, 3, 21, 30), "Asia/Tokyo"),
            cost=Decimal("12000"),
            currency="JPY",
        ),
        owner,
    )
    planner.update_activity(UpdateActivity(dinner.id, {"cost": Decimal("15000")}), owner)
    friend = uuid4()
    with acting_as(CommandContext(friend, uuid4())):
        events.save(User(friend, "f@example.org", "friend", "hash", "Fumiko", "Sato"))
    planner.add_member(AddMember(trip.trip_id, friend, Role.EDITOR), owner)
    Chat(events).post(PostMessage(trip.trip_id, "Can't wait!!"), CommandContext(friend, uuid4()))
    planner.remove_destination(RemoveDestination(kyoto.id), owner)
    for status in (TripStatus.PLANNED, TripStatus.ACTIVE, TripStatus.COMPLETED):
        planner.update_trip_details(UpdateTripDetails(trip.trip_id, status=status), owner)
    published = [m.event for m in OutboxReader(events).read_after(START, 1000).messages]
    return events, owner, published


def _facts(events: list[EventEnvelope]) -> list[a.Fact]:
    """Each aggregate's events folded one batch at a time, as the engine would."""
    states: dict[object, Analytics | None] = {}
    facts = []
    for event in events:
        if not ANALYTICS.decides(type(event)):
            continue
        state = ANALYTICS.fold([event], states.get(event.aggregate_id))
        states[event.aggregate_id] = state
        facts.extend([] if state is None else state["new"])
    return facts


def test_a_trips_history_yields_its_facts_with_places_times_and_no_personal_data() -> None:
    _, owner, events = _history()
    facts = _facts(events)

    assert [f.event_type for f in facts] == [
        "TripCreatedFact",
        "DestinationAddedFact",
        "ActivityPlannedFact",
        "ActivityRevisedFact",
        "MemberJoinedFact",
        "MessagePostedFact",
        "ActivityDroppedFact",
        "TripCompletedFact",
    ]
    created, destination, planned, revised, joined, posted, dropped, completed = facts
    assert created.payload.length_days == 10
    assert destination.payload.place == a.Place(country="JP", cell="35.0,135.8")
    assert destination.payload.nights == 4
    assert planned.payload.local_date == date(2027, 4, 3)
    assert planned.payload.hours == 2.5
    assert (planned.payload.cost, planned.payload.currency) == (Decimal("12000"), "JPY")
    assert (revised.payload.cost, revised.payload.previous_cost) == (Decimal(15000), 12000)
    assert joined.payload.member_count == 2
    assert posted.payload.length == len("Can't wait!!")
    assert completed.payload.destination_count == 0
    assert completed.payload.member_count == 2
    assert dropped.payload.cost == Decimal(15000)
    assert {f.trip_id for f in facts} == {created.trip_id}
    assert all(f.actor_id == owner.actor_id for f in facts if f is not posted)
    for text in ("Honeymoon", "secret", "Kaiseki", "Tanaka", "Somewhere", "wait", "Fumiko"):
        assert all(text not in f.model_dump_json() for f in facts), text


def test_facts_are_the_same_each_time_the_events_are_folded() -> None:
    _, _, events = _history()
    first, again = _facts(events), _facts(events)
    assert [f.event_id for f in first] == [f.event_id for f in again]
    assert len({f.event_id for f in first}) == len(first)
    assert first == again


def test_spend_is_net_per_currency_and_every_fact_counts_somewhere() -> None:
    _, _, events = _history()
    totals: dict[tuple[str, str], Decimal] = {}
    for fact in _facts(events):
        counts = counts_of(fact)
        assert counts, fact.event_type
        for metric, dimension, amount in counts:
            totals[metric, dimension] = totals.get((metric, dimension), Decimal(0)) + amount
    assert totals["spend", "JPY"] == 0  # planned 12000, raised to 15000, dropped with Kyoto
    assert totals["activities_planned", "restaurant"] == 1
    assert totals["activities_dropped", "restaurant"] == 1
    assert totals["destinations_added", "JP"] == 1
    assert totals["messages_posted", "text"] == 1
    assert totals["members_joined", "editor"] == 1


def test_a_zone_chosen_for_a_destination_outlives_its_edits_and_else_follows_its_location() -> None:
    events = EventStore()
    planner, owner = TripPlanner(events), CommandContext(uuid4(), uuid4())
    trip = planner.plan_trip(PlanTrip("T", "", date(2027, 4, 1), date(2027, 4, 10)), owner)
    kyoto = {"lat": 35.0116, "lng": 135.7681, "address": ""}
    lisbon = {"lat": 38.71, "lng": -9.13, "address": ""}
    chosen = planner.add_destination(
        AddDestination(
            trip.trip_id, "A", "", kyoto, date(2027, 4, 2), date(2027, 4, 3), time_zone="Asia/Seoul"
        ),
        owner,
    )
    derived = planner.add_destination(
        AddDestination(trip.trip_id, "B", "", kyoto, date(2027, 4, 4), date(2027, 4, 5)), owner
    )
    planner.update_destination(
        UpdateDestination(chosen.id, "A2", "", kyoto, date(2027, 4, 2), date(2027, 4, 3)), owner
    )
    planner.update_destination(
        UpdateDestination(derived.id, "B2", "", lisbon, date(2027, 4, 4), date(2027, 4, 5)), owner
    )
    for destination in (chosen, derived):
        planner.add_activity(AddActivity(destination.id, "x", "", ActivityType.OTHER), owner)
    published = [m.event for m in OutboxReader(events).read_after(START, 1000).messages]
    planned = [f for f in _facts(published) if isinstance(f, a.ActivityPlannedFact)]

    assert [f.payload.place.country for f in planned] == ["KR", "PT"]
