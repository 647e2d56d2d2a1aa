"""Domain events (stored by eventsourcing) → published contracts, one declaration per event.

Each declaration names the stored event class, the Kafka topic and the contract, and says how
the event's fields make the contract's payload. It reads the fields from a mapping, so the
same declaration serves a decoded domain event (`vars(event)`) and an event's stored JSON read
straight from the database (`streams.stored`, the fast path of rebuilds): pydantic turns the
stored strings into the contract's types either way.

Only events declared here (and, for itinerary drafts, in `streams.planner_mapping`) leave the
event store; internal aggregates such as the destination index are not published.
"""

from __future__ import annotations

from typing import Any

from streams import chat_contracts as ch
from streams import contracts as c
from streams import notification_contracts as n
from streams import user_contracts as u
from streams.planner_mapping import PLANNER_PUBLISHED
from streams.published_event import (
    Fields,
    Published,
    event_of,
    picked,
)
from streams.topics import CHAT_EVENTS, TRIP_EVENTS, USER_EVENTS
from write_side.chat.message import ChatMessage
from write_side.identity.user import EmailIndex, User, UsernameIndex
from write_side.notifications.inbox import Inbox
from write_side.planner.quota import DraftQuota
from write_side.sync.conflict_record import SyncConflict
from write_side.trips.activity_index import ActivityIndex
from write_side.trips.command_record import CommandRecord
from write_side.trips.destination_index import DestinationIndex
from write_side.trips.trip import Trip


def _nothing(fields: Fields) -> dict[str, Any]:
    return {}


def _moment(fields: Fields, end: str) -> dict[str, Any] | None:
    local, zone, utc = fields[f"{end}_local"], fields[f"{end}_time_zone"], fields[f"{end}_utc"]
    if local is None or zone is None or utc is None:
        return None
    return {"local": local, "time_zone": zone, "utc": utc}


_activity_head = picked("destination_id", "activity_id", "title", "description", "activity_type")
_activity_tail = picked("cost", "currency", "rank")


def _activity_added(fields: Fields) -> dict[str, Any]:
    return {
        **_activity_head(fields),
        "start": _moment(fields, "start"),
        "end": _moment(fields, "end"),
        **_activity_tail(fields),
    }


_ACTIVITY_FIELDS = ("title", "description", "activity_type", "cost", "currency")


def _activity_updated(fields: Fields) -> dict[str, Any]:
    stored: Fields = fields["changes"]
    changes = {k: v for k, v in stored.items() if k in _ACTIVITY_FIELDS}
    for end in ("start", "end"):
        if f"{end}_local" in stored:
            changes[end] = _moment(stored, end)
    return {"activity_id": fields["activity_id"], "changes": changes, "changed": sorted(changes)}


_DESTINATION = ("destination_id", "name", "description", "location")
_DATES = ("arrival_date", "departure_date")

PUBLISHED: tuple[Published, ...] = (
    Published(
        event_of(Trip, "Created"),
        TRIP_EVENTS,
        c.TripCreated,
        picked("title", "description", "start_date", "end_date", "creator_id"),
    ),
    Published(
        event_of(Trip, "DetailsUpdated"),
        TRIP_EVENTS,
        c.TripDetailsUpdated,
        picked("title", "description", "start_date", "end_date"),
    ),
    Published(
        event_of(Trip, "DestinationAdded"),
        TRIP_EVENTS,
        c.DestinationAdded,
        picked(*_DESTINATION, *_DATES, "rank"),
    ),
    Published(
        event_of(Trip, "DestinationUpdated"),
        TRIP_EVENTS,
        c.DestinationUpdated,
        picked(*_DESTINATION, *_DATES),
    ),
    Published(
        event_of(Trip, "DestinationRemoved"),
        TRIP_EVENTS,
        c.DestinationRemoved,
        picked("destination_id"),
    ),
    Published(
        event_of(Trip, "DestinationMoved"),
        TRIP_EVENTS,
        c.DestinationMoved,
        picked("destination_id", "rank"),
    ),
    Published(event_of(Trip, "ActivityAdded"), TRIP_EVENTS, c.ActivityAdded, _activity_added),
    Published(event_of(Trip, "ActivityUpdated"), TRIP_EVENTS, c.ActivityUpdated, _activity_updated),
    Published(
        event_of(Trip, "ActivityRemoved"), TRIP_EVENTS, c.ActivityRemoved, picked("activity_id")
    ),
    Published(
        event_of(Trip, "ActivityMoved"), TRIP_EVENTS, c.ActivityMoved, picked("activity_id", "rank")
    ),
    Published(event_of(Trip, "StatusChanged"), TRIP_EVENTS, c.TripStatusChanged, picked("status")),
    Published(
        event_of(Trip, "VisibilityChanged"),
        TRIP_EVENTS,
        c.TripVisibilityChanged,
        picked("visibility"),
    ),
    Published(
        event_of(Trip, "CurrencyChosen"), TRIP_EVENTS, c.TripCurrencyChosen, picked("currency")
    ),
    Published(
        event_of(Trip, "DestinationTimeZoneSet"),
        TRIP_EVENTS,
        c.DestinationTimeZoneSet,
        picked("destination_id", "time_zone"),
    ),
    Published(event_of(Trip, "Archived"), TRIP_EVENTS, c.TripArchived, _nothing),
    Published(event_of(Trip, "Restored"), TRIP_EVENTS, c.TripRestored, _nothing),
    Published(event_of(Trip, "MemberAdded"), TRIP_EVENTS, c.MemberAdded, picked("user_id", "role")),
    Published(
        event_of(Trip, "MemberRoleChanged"),
        TRIP_EVENTS,
        c.MemberRoleChanged,
        picked("user_id", "role"),
    ),
    Published(event_of(Trip, "MemberRemoved"), TRIP_EVENTS, c.MemberRemoved, picked("user_id")),
    Published(
        event_of(SyncConflict, "Recorded"),
        TRIP_EVENTS,
        c.SyncConflictRecorded,
        picked("trip_id", "entity_type", "action", "fields"),
    ),
    *PLANNER_PUBLISHED,
    Published(
        event_of(User, "Registered"),
        USER_EVENTS,
        u.UserRegistered,
        picked("username", "first_name", "last_name"),
    ),
    Published(
        event_of(User, "ProfileUpdated"),
        USER_EVENTS,
        u.UserProfileUpdated,
        picked("first_name", "last_name", "bio", "avatar_url"),
    ),
    # The password hash stays in the event store.
    Published(event_of(User, "PasswordChanged"), USER_EVENTS, u.UserPasswordChanged, _nothing),
    Published(event_of(User, "Deactivated"), USER_EVENTS, u.UserDeactivated, _nothing),
    Published(event_of(User, "AdminGranted"), USER_EVENTS, u.UserAdminGranted, _nothing),
    # Account tokens: their digests and the addresses stay in the event store.
    Published(
        event_of(User, "PasswordResetRequested"),
        USER_EVENTS,
        u.UserPasswordResetRequested,
        _nothing,
    ),
    Published(
        event_of(User, "PasswordResetIssued"),
        USER_EVENTS,
        u.UserPasswordResetIssued,
        picked("expires_at"),
    ),
    Published(event_of(User, "PasswordReset"), USER_EVENTS, u.UserPasswordReset, _nothing),
    Published(
        event_of(User, "EmailChangeRequested"), USER_EVENTS, u.UserEmailChangeRequested, _nothing
    ),
    Published(
        event_of(User, "EmailVerificationRequested"),
        USER_EVENTS,
        u.UserEmailVerificationRequested,
        _nothing,
    ),
    Published(
        event_of(User, "EmailVerificationIssued"),
        USER_EVENTS,
        u.UserEmailVerificationIssued,
        picked("expires_at"),
    ),
    Published(event_of(User, "EmailVerified"), USER_EVENTS, u.UserEmailVerified, _nothing),
    Published(event_of(User, "EmailChanged"), USER_EVENTS, u.UserEmailChanged, _nothing),
    Published(
        event_of(ChatMessage, "Posted"),
        CHAT_EVENTS,
        ch.ChatMessagePosted,
        picked("trip_id", "seq", "sender_id", "content", "message_type", "reply_to"),
    ),
    Published(
        event_of(ChatMessage, "Edited"),
        CHAT_EVENTS,
        ch.ChatMessageEdited,
        picked("trip_id", "seq", "content"),
    ),
    Published(event_of(Inbox, "Opened"), USER_EVENTS, n.InboxOpened, picked("user_id")),
    Published(
        event_of(Inbox, "NotificationAdded"),
        USER_EVENTS,
        n.NotificationAdded,
        picked(
            "user_id",
            "notification_id",
            "type",
            "title",
            "message",
            "trip_id",
            "related_user",
            "coalescing_key",
        ),
    ),
    Published(
        event_of(Inbox, "NotificationCoalesced"),
        USER_EVENTS,
        n.NotificationCoalesced,
        picked("user_id", "notification_id", "count", "message"),
    ),
    Published(
        event_of(Inbox, "ActivityReminded"),
        USER_EVENTS,
        n.ActivityReminded,
        picked(
            "user_id", "notification_id", "activity_id", "starts_at", "title", "message", "trip_id"
        ),
    ),
    Published(
        event_of(Inbox, "NotificationRead"),
        USER_EVENTS,
        n.NotificationRead,
        picked("user_id", "notification_id"),
    ),
    Published(
        event_of(Inbox, "AllNotificationsRead"),
        USER_EVENTS,
        n.AllNotificationsRead,
        picked("user_id", "through"),
    ),
)

# Aggregates whose events never leave the event store: lookups the write side keeps for
# itself (uniqueness of emails and usernames, which trip holds a destination or activity,
# the outcome of each command a client named with a key).
UNPUBLISHED: tuple[type[Any], ...] = (
    EmailIndex,
    UsernameIndex,
    DestinationIndex,
    ActivityIndex,
    CommandRecord,
    DraftQuota,
)

_BY_STORED_TOPIC = {published.stored_topic: published for published in PUBLISHED}


def published_as(stored_topic: str) -> Published | None:
    """How events stored under this topic are published; None: they are not."""
    return _BY_STORED_TOPIC.get(stored_topic)


def stored_topics_of(*topics: str) -> list[str]:
    """The stored event topics published to these Kafka topics."""
    return [p.stored_topic for p in PUBLISHED if p.topic in topics]


def is_published(stored_topic: str) -> bool:
    return stored_topic in _BY_STORED_TOPIC


def to_contract(stored_topic: str, domain_event: object) -> tuple[str, c.EventEnvelope] | None:
    """The Kafka topic and contract for a stored domain event, or None if it is not published."""
    published = _BY_STORED_TOPIC.get(stored_topic)
    if published is None:
        return None
    fields = vars(domain_event)
    contract = published.contract_of(fields["originator_id"], fields["originator_version"], fields)
    return published.topic, contract
