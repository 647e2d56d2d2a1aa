"""The analytics projection: each trip's figures (for its analytics), and the facts each
trip and chat event yields for `analytics-events` and the daily aggregates. Pure; no I/O.

Facts are produced by the fold, so a rebuild produces the same ones again (same ids), and
the store adapter (infra) publishes a live batch's facts before it commits the batch.
"""

from __future__ import annotations

from decimal import Decimal

from projections.analytics_state import (
    Analytics,
    Planned,
    TripFigures,
    begin,
    credit,
    fact,
    figures,
    place,
    shape,
    spot,
)
from projections.engine.projection import MissingStateError, Projection
from streams import analytics_contracts as a
from streams import chat_contracts as ch
from streams import contracts as c
from streams.contracts import EventEnvelope
from streams.topics import CHAT_EVENTS, TRIP_EVENTS

ANALYTICS: Projection[Analytics] = Projection(
    name="analytics", version=1, topics=(TRIP_EVENTS, CHAT_EVENTS), begin=begin
)
# An archived trip keeps its figures; an edited message is the same message.
ANALYTICS.ignores(c.TripArchived, c.TripRestored, c.DestinationMoved, ch.ChatMessageEdited)


def _trip(state: Analytics | None, event: EventEnvelope) -> tuple[Analytics, TripFigures]:
    if state is None or state["trip"] is None:
        raise MissingStateError(event)
    return state, state["trip"]


@ANALYTICS.applies(c.TripCreated)
def _created(state: Analytics | None, event: c.TripCreated) -> Analytics:
    p = event.payload
    trip = TripFigures(
        start_date=p.start_date.isoformat(),
        end_date=p.end_date.isoformat(),
        currency=None,
        visibility="private",
        status="draft",
        members={str(p.creator_id): "owner"},
        destinations={},
        activities={},
        contributions={},
    )
    payload = a.TripCreatedFactPayload(**shape(trip))
    return Analytics(trip=trip, new=[fact(a.TripCreatedFact, event.aggregate_id, event, payload)])


@ANALYTICS.applies(c.TripDetailsUpdated)
def _details(state: Analytics | None, event: c.TripDetailsUpdated) -> Analytics:
    state, trip = _trip(state, event)
    p = event.payload
    if p.start_date is not None:
        trip["start_date"] = p.start_date.isoformat()
    if p.end_date is not None:
        trip["end_date"] = p.end_date.isoformat()
    credit(trip, event, "trip_edits")
    return state


@ANALYTICS.applies(c.TripStatusChanged)
def _status(state: Analytics | None, event: c.TripStatusChanged) -> Analytics:
    state, trip = _trip(state, event)
    completed = event.payload.status == "completed" and trip["status"] != "completed"
    trip["status"] = event.payload.status
    credit(trip, event, "trip_edits")
    if completed:
        payload = a.TripCompletedFactPayload(**shape(trip))
        state["new"].append(fact(a.TripCompletedFact, event.aggregate_id, event, payload))
    return state


@ANALYTICS.applies(c.TripVisibilityChanged)
def _visibility(state: Analytics | None, event: c.TripVisibilityChanged) -> Analytics:
    state, trip = _trip(state, event)
    trip["visibility"] = event.payload.visibility
    credit(trip, event, "trip_edits")
    return state


@ANALYTICS.applies(c.TripCurrencyChosen)
def _currency(state: Analytics | None, event: c.TripCurrencyChosen) -> Analytics:
    state, trip = _trip(state, event)
    trip["currency"] = event.payload.currency
    credit(trip, event, "trip_edits")
    return state


@ANALYTICS.applies(c.DestinationAdded)
def _destination_added(state: Analytics | None, event: c.DestinationAdded) -> Analytics:
    state, trip = _trip(state, event)
    p = event.payload
    destination_id = str(p.destination_id)
    trip["destinations"][destination_id] = spot(p.location, p.arrival_date, p.departure_date)
    credit(trip, event, "destinations_added")
    payload = a.DestinationAddedFactPayload(
        destination_id=p.destination_id,
        place=place(trip, destination_id),
        nights=(p.departure_date - p.arrival_date).days,
    )
    state["new"].append(fact(a.DestinationAddedFact, event.aggregate_id, event, payload))
    return state


@ANALYTICS.applies(c.DestinationUpdated)
def _destination_updated(state: Analytics | None, event: c.DestinationUpdated) -> Analytics:
    state, trip = _trip(state, event)
    p = event.payload
    destinations, key = trip["destinations"], str(p.destination_id)
    destinations[key] = spot(p.location, p.arrival_date, p.departure_date, destinations.get(key))
    credit(trip, event, "destination_edits")
    return state


@ANALYTICS.applies(c.DestinationTimeZoneSet)
def _zone(state: Analytics | None, event: c.DestinationTimeZoneSet) -> Analytics:
    state, trip = _trip(state, event)
    found = trip["destinations"].get(str(event.payload.destination_id))
    if found is not None:
        found["time_zone"], found["zone_set"] = event.payload.time_zone, True
    return state


@ANALYTICS.applies(c.DestinationRemoved)
def _destination_removed(state: Analytics | None, event: c.DestinationRemoved) -> Analytics:
    state, trip = _trip(state, event)
    gone = str(event.payload.destination_id)
    for activity_id, planned in list(trip["activities"].items()):
        if planned["destination_id"] == gone:
            _drop(state, trip, event, activity_id)
    trip["destinations"].pop(gone, None)
    credit(trip, event, "destination_edits")
    return state


@ANALYTICS.applies(c.ActivityAdded)
def _activity_added(state: Analytics | None, event: c.ActivityAdded) -> Analytics:
    state, trip = _trip(state, event)
    p = event.payload
    activity_id = str(p.activity_id)
    trip["activities"][activity_id] = Planned(
        destination_id=str(p.destination_id),
        activity_type=p.activity_type,
        start_local=None if p.start is None else p.start.local.isoformat(),
        start_utc=None if p.start is None else p.start.utc.isoformat(),
        end_utc=None if p.end is None else p.end.utc.isoformat(),
        cost=None if p.cost is None else str(p.cost),
        currency=p.currency,
        added_by=str(event.actor_id),
    )
    credit(trip, event, "activities_added")
    payload = a.ActivityPlannedFactPayload(**dict(figures(trip, activity_id)))
    state["new"].append(fact(a.ActivityPlannedFact, event.aggregate_id, event, payload))
    return state


@ANALYTICS.applies(c.ActivityUpdated)
def _activity_updated(state: Analytics | None, event: c.ActivityUpdated) -> Analytics:
    state, trip = _trip(state, event)
    p = event.payload
    activity_id = str(p.activity_id)
    planned = trip["activities"].get(activity_id)
    if planned is None:
        return state
    before_cost, before_currency = planned["cost"], planned["currency"]
    changes = p.changes
    if "activity_type" in p.changed and changes.activity_type is not None:
        planned["activity_type"] = changes.activity_type
    if "cost" in p.changed:
        planned["cost"] = None if changes.cost is None else str(changes.cost)
    if "currency" in p.changed:
        planned["currency"] = changes.currency
    if "start" in p.changed:
        start = changes.start
        planned["start_local"] = None if start is None else start.local.isoformat()
        planned["start_utc"] = None if start is None else start.utc.isoformat()
    if "end" in p.changed:
        planned["end_utc"] = None if changes.end is None else changes.end.utc.isoformat()
    credit(trip, event, "activity_edits")
    payload = a.ActivityRevisedFactPayload(
        **dict(figures(trip, activity_id)),
        previous_cost=None if before_cost is None else Decimal(before_cost),
        previous_currency=before_currency,
    )
    state["new"].append(fact(a.ActivityRevisedFact, event.aggregate_id, event, payload))
    return state


@ANALYTICS.applies(c.ActivityMoved)
def _activity_moved(state: Analytics | None, event: c.ActivityMoved) -> Analytics:
    state, trip = _trip(state, event)
    credit(trip, event, "activity_edits")
    return state


@ANALYTICS.applies(c.ActivityRemoved)
def _activity_removed(state: Analytics | None, event: c.ActivityRemoved) -> Analytics:
    state, trip = _trip(state, event)
    if str(event.payload.activity_id) in trip["activities"]:
        _drop(state, trip, event, str(event.payload.activity_id))
    credit(trip, event, "activity_edits")
    return state


def _drop(state: Analytics, trip: TripFigures, event: EventEnvelope, activity_id: str) -> None:
    payload = a.ActivityDroppedFactPayload(**dict(figures(trip, activity_id)))
    del trip["activities"][activity_id]
    # One event may drop several activities (a destination's): one fact each, own ids.
    dropped = fact(a.ActivityDroppedFact, event.aggregate_id, event, payload)
    state["new"].append(
        dropped.model_copy(
            update={"event_id": a.fact_id(event.event_id, f"ActivityDroppedFact/{activity_id}")}
        )
    )


@ANALYTICS.applies(c.MemberAdded)
def _member_added(state: Analytics | None, event: c.MemberAdded) -> Analytics:
    state, trip = _trip(state, event)
    p = event.payload
    trip["members"][str(p.user_id)] = p.role
    credit(trip, event, "members_added")
    payload = a.MemberJoinedFactPayload.model_validate(
        {"user_id": p.user_id, "role": p.role, "member_count": len(trip["members"])}
    )
    state["new"].append(fact(a.MemberJoinedFact, event.aggregate_id, event, payload))
    return state


@ANALYTICS.applies(c.MemberRoleChanged)
def _role_changed(state: Analytics | None, event: c.MemberRoleChanged) -> Analytics:
    state, trip = _trip(state, event)
    trip["members"][str(event.payload.user_id)] = event.payload.role
    credit(trip, event, "members_changed")
    return state


@ANALYTICS.applies(c.MemberRemoved)
def _member_removed(state: Analytics | None, event: c.MemberRemoved) -> Analytics:
    state, trip = _trip(state, event)
    trip["members"].pop(str(event.payload.user_id), None)
    credit(trip, event, "members_changed")
    return state


@ANALYTICS.applies(ch.ChatMessagePosted)
def _posted(state: Analytics | None, event: ch.ChatMessagePosted) -> Analytics:
    p = event.payload
    payload = a.MessagePostedFactPayload(
        message_id=event.aggregate_id, message_type=p.message_type, length=len(p.content)
    )
    return Analytics(trip=None, new=[fact(a.MessagePostedFact, p.trip_id, event, payload)])


@ANALYTICS.applies(c.SyncConflictRecorded)
def _conflict(state: Analytics | None, event: c.SyncConflictRecorded) -> Analytics:
    p = event.payload
    payload = a.SyncConflictFactPayload(
        entity_type=p.entity_type, action=p.action, fields=list(p.fields)
    )
    return Analytics(trip=None, new=[fact(a.SyncConflictFact, p.trip_id, event, payload)])
