"""Who should hear of what, decided from trip and chat events. Pure.

Each event yields the notices it calls for (an invitation, a trip update, new messages);
delivering them is an effect done by the projection's store adapter (infra): it finds the
trip's members in the event store, leaves out the actor (and, for messages, whoever has the
room open), and delivers into each recipient's inbox, which recognises an event it already
took in. Nothing is kept between batches.
"""

from __future__ import annotations

from typing import Literal, TypedDict
from uuid import UUID

from projections.engine.projection import Projection
from streams import chat_contracts as ch
from streams import contracts as c
from streams import planner_contracts as p
from streams.contracts import EventEnvelope
from streams.topics import CHAT_EVENTS, PLANNER_EVENTS, TRIP_EVENTS

NoticeKind = Literal["trip_invite", "trip_update", "message", "draft_ready", "draft_failed"]


class Notice(TypedDict):
    key: str  # the event it comes from
    kind: NoticeKind
    trip_id: str
    actor_id: str
    correlation_id: str
    source: str  # "trip:<id>", "chat:<trip id>" or "draft:<id>": where `position` counts
    position: int
    invited: str | None  # trip_invite: who was added (the others get a trip_update)
    summary: str


class Notices(TypedDict):
    new: list[Notice]


def _fresh(_: Notices) -> Notices:
    return Notices(new=[])


NOTIFIER: Projection[Notices] = Projection(
    name="notifier", version=1, topics=(TRIP_EVENTS, CHAT_EVENTS, PLANNER_EVENTS), begin=_fresh
)
# Not news to members: the trip's birth (no one else is in it yet), a zone derived from
# coordinates, an edit of a message already notified.
NOTIFIER.ignores(
    c.TripCreated, c.DestinationTimeZoneSet, ch.ChatMessageEdited, c.SyncConflictRecorded
)
# Of a draft's life, members hear when it is ready or has failed; its acceptance is heard of
# through the trip's own changes.
NOTIFIER.ignores(p.ItineraryDraftRequested, p.ItineraryDraftStarted, p.ItineraryDraftItemsAccepted)

SUMMARIES: dict[type[EventEnvelope], str] = {
    c.TripDetailsUpdated: "the trip's details changed",
    c.TripStatusChanged: "the trip's status changed",
    c.TripVisibilityChanged: "the trip's visibility changed",
    c.TripCurrencyChosen: "the trip's currency changed",
    c.TripArchived: "the trip was archived",
    c.TripRestored: "the trip was restored",
    c.DestinationAdded: "a destination was added",
    c.DestinationUpdated: "a destination changed",
    c.DestinationRemoved: "a destination was removed",
    c.DestinationMoved: "the destinations were reordered",
    c.ActivityAdded: "an activity was added",
    c.ActivityUpdated: "an activity changed",
    c.ActivityRemoved: "an activity was removed",
    c.ActivityMoved: "the activities were reordered",
    c.MemberAdded: "a member joined",
    c.MemberRoleChanged: "a member's role changed",
    c.MemberRemoved: "a member left",
}


def _notice(
    state: Notices | None,
    event: EventEnvelope,
    kind: NoticeKind,
    *,
    trip_id: str,
    source: str,
    position: int,
    summary: str,
    invited: str | None = None,
) -> Notices:
    found = state if state is not None else Notices(new=[])
    found["new"].append(
        Notice(
            key=str(event.event_id),
            kind=kind,
            trip_id=trip_id,
            actor_id=str(event.actor_id),
            correlation_id=str(event.correlation_id),
            source=source,
            position=position,
            invited=invited,
            summary=summary,
        )
    )
    return found


def _trip_changed(state: Notices | None, event: EventEnvelope) -> Notices:
    trip = str(event.aggregate_id)
    summary = SUMMARIES[type(event)]
    invited = str(event.payload.user_id) if isinstance(event, c.MemberAdded) else None
    found = state
    if invited is not None:
        found = _notice(
            found,
            event,
            "trip_invite",
            trip_id=trip,
            source=f"trip:{trip}",
            position=event.aggregate_version,
            summary=summary,
            invited=invited,
        )
    return _notice(
        found,
        event,
        "trip_update",
        trip_id=trip,
        source=f"trip:{trip}",
        position=event.aggregate_version,
        summary=summary,
        invited=invited,
    )


for _event_type in SUMMARIES:
    NOTIFIER.applies(_event_type)(_trip_changed)


def _draft_notice(
    state: Notices | None, event: EventEnvelope, kind: NoticeKind, trip_id: UUID, summary: str
) -> Notices:
    return _notice(
        state,
        event,
        kind,
        trip_id=str(trip_id),
        source=f"draft:{event.aggregate_id}",
        position=event.aggregate_version,
        summary=f"{summary} ({event.aggregate_id})",
    )


@NOTIFIER.applies(p.ItineraryDraftCompleted)
def _draft_ready(state: Notices | None, event: p.ItineraryDraftCompleted) -> Notices:
    items = sum(len(day.items) for day in event.payload.draft.days)
    summary = f"an itinerary draft with {items} items is ready"
    return _draft_notice(state, event, "draft_ready", event.payload.trip_id, summary)


@NOTIFIER.applies(p.ItineraryDraftFailed)
def _draft_failed(state: Notices | None, event: p.ItineraryDraftFailed) -> Notices:
    summary = f"an itinerary draft failed: {event.payload.reason}"
    return _draft_notice(state, event, "draft_failed", event.payload.trip_id, summary)


@NOTIFIER.applies(ch.ChatMessagePosted)
def _message_posted(state: Notices | None, event: ch.ChatMessagePosted) -> Notices:
    p = event.payload
    if p.message_type == "system":  # joins and date changes: the trip update says it
        return state if state is not None else Notices(new=[])
    return _notice(
        state,
        event,
        "message",
        trip_id=str(p.trip_id),
        source=f"chat:{p.trip_id}",
        position=p.seq,
        summary=p.content[:140],
    )
