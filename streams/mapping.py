"""Domain events (stored by eventsourcing) → published contracts, one declaration per event.

Each declaration names the stored event class, the Kafka topic and the contract, and says how
the event's fields make the contract's payload. It reads the fields from a mapping, so the
same declaration serves a decoded domain event (`vars(event)`) and an event's stored JSON read
straight from the database (`streams.stored`, the fast path of rebuilds): pydantic turns the
stored strings into the contract's types either way.

Only events declared here leave the event store; internal aggregates such as the destination
index are not published.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.utils import get_topic

from streams import chat_contracts as ch
from streams import contracts as c
from streams import notification_contracts as n
from streams import planner_contracts as p
from streams import user_contracts as u
from streams.topics import CHAT_EVENTS, PLANNER_EVENTS, TRIP_EVENTS, USER_EVENTS
from write_side.chat.message import ChatMessage
from write_side.identity.user import EmailIndex, User, UsernameIndex
from write_side.notifications.inbox import Inbox
from write_side.planner.draft import ItineraryDraft
from write_side.planner.quota import DraftQuota
from write_side.sync.conflict_record import SyncConflict
from write_side.trips.activity_index import ActivityIndex
from write_side.trips.command_record import CommandRecord
from write_side.trips.destination_index import DestinationIndex
from write_side.trips.trip import Trip

Fields = Mapping[str, Any]
PayloadOf = Callable[[Fields], dict[str, Any]]


@dataclass(frozen=True)
class Published:
    """How one stored event class is published."""

    event_class: type[Any]
    topic: str
    contract: type[c.EventEnvelope]
    payload: PayloadOf

    @cached_property
    def stored_topic(self) -> str:
        """The class path eventsourcing stores with each event (`module:Class.Event`)."""
        return get_topic(self.event_class)

    @cached_property
    def class_version(self) -> int:
        return int(getattr(self.event_class, "class_version", 1))

    def contract_of(self, aggregate_id: UUID, version: int, fields: Fields) -> c.EventEnvelope:
        return self.contract.model_validate(
            {
                "event_id": _event_id_hex(aggregate_id, version),
                "aggregate_id": aggregate_id,
                "aggregate_version": version,
                "occurred_at": fields["timestamp"],
                "actor_id": fields["actor_id"],
                "correlation_id": fields["correlation_id"],
                "payload": self.payload(fields),
            }
        )


def _event(aggregate: type[Any], name: str) -> type[Any]:
    """An aggregate's event class (eventsourcing's `@event` decorator defines them)."""
    event_class: type[Any] = getattr(aggregate, name)
    return event_class


def event_id_of(aggregate_id: UUID, version: int) -> UUID:
    """Stable per stored event, so a message published twice carries the same id."""
    return uuid5(NAMESPACE_URL, f"/events/{aggregate_id}/{version}")


def _event_id_hex(aggregate_id: UUID, version: int) -> str:
    """`event_id_of` as 32 hex digits, computed as uuid5 does but without building a UUID
    object (pydantic makes the contract's from the string, at a fraction of the cost)."""
    name = b"/events/%s/%d" % (str(aggregate_id).encode(), version)
    digest = bytearray(hashlib.sha1(NAMESPACE_URL.bytes + name).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return digest.hex()


def _picked(*names: str) -> PayloadOf:
    return lambda fields: {name: fields[name] for name in names}


def _nothing(fields: Fields) -> dict[str, Any]:
    return {}


def _moment(fields: Fields, end: str) -> dict[str, Any] | None:
    local, zone, utc = fields[f"{end}_local"], fields[f"{end}_time_zone"], fields[f"{end}_utc"]
    if local is None or zone is None or utc is None:
        return None
    return {"local": local, "time_zone": zone, "utc": utc}


_activity_head = _picked("destination_id", "activity_id", "title", "description", "activity_type")
_activity_tail = _picked("cost", "currency", "rank")


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
        _event(Trip, "Created"),
        TRIP_EVENTS,
        c.TripCreated,
        _picked("title", "description", "start_date", "end_date", "creator_id"),
    ),
    Published(
        _event(Trip, "DetailsUpdated"),
        TRIP_EVENTS,
        c.TripDetailsUpdated,
        _picked("title", "description", "start_date", "end_date"),
    ),
    Published(
        _event(Trip, "DestinationAdded"),
        TRIP_EVENTS,
        c.DestinationAdded,
        _picked(*_DESTINATION, *_DATES, "rank"),
    ),
    Published(
        _event(Trip, "DestinationUpdated"),
        TRIP_EVENTS,
        c.DestinationUpdated,
        _picked(*_DESTINATION, *_DATES),
    ),
    Published(
        _event(Trip, "DestinationRemoved"),
        TRIP_EVENTS,
        c.DestinationRemoved,
        _picked("destination_id"),
    ),
    Published(
        _event(Trip, "DestinationMoved"),
        TRIP_EVENTS,
        c.DestinationMoved,
        _picked("destination_id", "rank"),
    ),
    Published(_event(Trip, "ActivityAdded"), TRIP_EVENTS, c.ActivityAdded, _activity_added),
    Published(_event(Trip, "ActivityUpdated"), TRIP_EVENTS, c.ActivityUpdated, _activity_updated),
    Published(
        _event(Trip, "ActivityRemoved"), TRIP_EVENTS, c.ActivityRemoved, _picked("activity_id")
    ),
    Published(
        _event(Trip, "ActivityMoved"), TRIP_EVENTS, c.ActivityMoved, _picked("activity_id", "rank")
    ),
    Published(_event(Trip, "StatusChanged"), TRIP_EVENTS, c.TripStatusChanged, _picked("status")),
    Published(
        _event(Trip, "VisibilityChanged"),
        TRIP_EVENTS,
        c.TripVisibilityChanged,
        _picked("visibility"),
    ),
    Published(
        _event(Trip, "CurrencyChosen"), TRIP_EVENTS, c.TripCurrencyChosen, _picked("currency")
    ),
    Published(
        _event(Trip, "DestinationTimeZoneSet"),
        TRIP_EVENTS,
        c.DestinationTimeZoneSet,
        _picked("destination_id", "time_zone"),
    ),
    Published(_event(Trip, "Archived"), TRIP_EVENTS, c.TripArchived, _nothing),
    Published(_event(Trip, "Restored"), TRIP_EVENTS, c.TripRestored, _nothing),
    Published(_event(Trip, "MemberAdded"), TRIP_EVENTS, c.MemberAdded, _picked("user_id", "role")),
    Published(
        _event(Trip, "MemberRoleChanged"),
        TRIP_EVENTS,
        c.MemberRoleChanged,
        _picked("user_id", "role"),
    ),
    Published(_event(Trip, "MemberRemoved"), TRIP_EVENTS, c.MemberRemoved, _picked("user_id")),
    Published(
        _event(SyncConflict, "Recorded"),
        TRIP_EVENTS,
        c.SyncConflictRecorded,
        _picked("trip_id", "entity_type", "action", "fields"),
    ),
    Published(
        _event(ItineraryDraft, "Requested"),
        PLANNER_EVENTS,
        p.ItineraryDraftRequested,
        _picked("trip_id", "requested_by", "preferences", "trip_version"),
    ),
    Published(
        _event(ItineraryDraft, "Started"),
        PLANNER_EVENTS,
        p.ItineraryDraftStarted,
        _picked("trip_id", "attempt", "model", "trip_version", "charged_on"),
    ),
    Published(
        _event(ItineraryDraft, "Completed"),
        PLANNER_EVENTS,
        p.ItineraryDraftCompleted,
        lambda fields: {
            "trip_id": fields["trip_id"],
            "draft": fields["document"],
            "usage": fields["usage"],
        },
    ),
    Published(
        _event(ItineraryDraft, "Failed"),
        PLANNER_EVENTS,
        p.ItineraryDraftFailed,
        _picked("trip_id", "reason", "message", "refunded"),
    ),
    Published(
        _event(ItineraryDraft, "ItemsAccepted"),
        PLANNER_EVENTS,
        p.ItineraryDraftItemsAccepted,
        _picked("trip_id", "acceptance_id", "accepted_by", "items"),
    ),
    Published(
        _event(User, "Registered"),
        USER_EVENTS,
        u.UserRegistered,
        _picked("username", "first_name", "last_name"),
    ),
    Published(
        _event(User, "ProfileUpdated"),
        USER_EVENTS,
        u.UserProfileUpdated,
        _picked("first_name", "last_name", "bio", "avatar_url"),
    ),
    # The password hash stays in the event store.
    Published(_event(User, "PasswordChanged"), USER_EVENTS, u.UserPasswordChanged, _nothing),
    Published(_event(User, "Deactivated"), USER_EVENTS, u.UserDeactivated, _nothing),
    Published(_event(User, "AdminGranted"), USER_EVENTS, u.UserAdminGranted, _nothing),
    Published(
        _event(ChatMessage, "Posted"),
        CHAT_EVENTS,
        ch.ChatMessagePosted,
        _picked("trip_id", "seq", "sender_id", "content", "message_type", "reply_to"),
    ),
    Published(
        _event(ChatMessage, "Edited"),
        CHAT_EVENTS,
        ch.ChatMessageEdited,
        _picked("trip_id", "seq", "content"),
    ),
    Published(_event(Inbox, "Opened"), USER_EVENTS, n.InboxOpened, _picked("user_id")),
    Published(
        _event(Inbox, "NotificationAdded"),
        USER_EVENTS,
        n.NotificationAdded,
        _picked(
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
        _event(Inbox, "NotificationCoalesced"),
        USER_EVENTS,
        n.NotificationCoalesced,
        _picked("user_id", "notification_id", "count", "message"),
    ),
    Published(
        _event(Inbox, "ActivityReminded"),
        USER_EVENTS,
        n.ActivityReminded,
        _picked(
            "user_id", "notification_id", "activity_id", "starts_at", "title", "message", "trip_id"
        ),
    ),
    Published(
        _event(Inbox, "NotificationRead"),
        USER_EVENTS,
        n.NotificationRead,
        _picked("user_id", "notification_id"),
    ),
    Published(
        _event(Inbox, "AllNotificationsRead"),
        USER_EVENTS,
        n.AllNotificationsRead,
        _picked("user_id", "through"),
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
