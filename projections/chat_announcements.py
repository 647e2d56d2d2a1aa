"""System messages, decided from trip events: who joined or left, when the dates changed.

Pure: each trip event yields the announcements it calls for. Posting them is an effect done
by the projection's store adapter (infra) through the chat service, with a command key made
from the event's id, so a redelivered event posts nothing twice. Ignoring events in this
projection means deciding that they say nothing to the room.
"""

from __future__ import annotations

from datetime import date
from typing import Literal, TypedDict
from uuid import UUID

from projections.engine.projection import Projection
from streams import contracts as c
from streams.topics import TRIP_EVENTS

Kind = Literal["member_joined", "member_left", "dates_changed"]


class Announcement(TypedDict):
    key: str  # the event it comes from: posted once per key
    trip_id: str
    actor_id: str
    kind: Kind
    user_id: str | None  # who joined or left
    start_date: str | None
    end_date: str | None


class Announcements(TypedDict):
    """What a batch of one trip's events calls for; nothing is kept between batches."""

    new: list[Announcement]


def _fresh(_: Announcements) -> Announcements:
    return Announcements(new=[])


CHAT_ANNOUNCEMENTS: Projection[Announcements] = Projection(
    name="chat_announcements", version=1, topics=(TRIP_EVENTS,), begin=_fresh
)
CHAT_ANNOUNCEMENTS.ignores(
    c.SyncConflictRecorded,
    c.TripCreated,
    c.DestinationAdded,
    c.DestinationUpdated,
    c.DestinationRemoved,
    c.DestinationMoved,
    c.DestinationTimeZoneSet,
    c.ActivityAdded,
    c.ActivityUpdated,
    c.ActivityRemoved,
    c.ActivityMoved,
    c.TripStatusChanged,
    c.TripVisibilityChanged,
    c.TripCurrencyChosen,
    c.TripArchived,
    c.TripRestored,
    c.MemberRoleChanged,
)


def _announce(
    state: Announcements | None,
    event: c.EventEnvelope,
    kind: Kind,
    *,
    user_id: UUID | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Announcements:
    found = state if state is not None else Announcements(new=[])
    found["new"].append(
        Announcement(
            key=str(event.event_id),
            trip_id=str(event.aggregate_id),
            actor_id=str(event.actor_id),
            kind=kind,
            user_id=None if user_id is None else str(user_id),
            start_date=None if start is None else start.isoformat(),
            end_date=None if end is None else end.isoformat(),
        )
    )
    return found


@CHAT_ANNOUNCEMENTS.applies(c.MemberAdded)
def _member_added(state: Announcements | None, event: c.MemberAdded) -> Announcements:
    return _announce(state, event, "member_joined", user_id=event.payload.user_id)


@CHAT_ANNOUNCEMENTS.applies(c.MemberRemoved)
def _member_removed(state: Announcements | None, event: c.MemberRemoved) -> Announcements:
    return _announce(state, event, "member_left", user_id=event.payload.user_id)


@CHAT_ANNOUNCEMENTS.applies(c.TripDetailsUpdated)
def _details_updated(state: Announcements | None, event: c.TripDetailsUpdated) -> Announcements:
    p = event.payload
    if p.start_date is None and p.end_date is None:
        return state if state is not None else Announcements(new=[])
    return _announce(state, event, "dates_changed", start=p.start_date, end=p.end_date)
