"""Domain events (stored by eventsourcing) → published contracts.

Only events listed here leave the event store; internal aggregates such as the destination
index are not published.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from streams.contracts import (
    ActivityAdded,
    ActivityAddedPayload,
    ActivityChanges,
    ActivityMoved,
    ActivityRefPayload,
    ActivityRemoved,
    ActivityUpdated,
    ActivityUpdatedPayload,
    DestinationAdded,
    DestinationAddedPayload,
    DestinationMoved,
    DestinationRefPayload,
    DestinationRemoved,
    DestinationUpdated,
    DestinationUpdatedPayload,
    EventEnvelope,
    Location,
    MemberAdded,
    MemberPayload,
    MemberRemoved,
    MemberRemovedPayload,
    MemberRoleChanged,
    Moment,
    RankedActivityPayload,
    RankedDestinationPayload,
    TripArchived,
    TripCreated,
    TripCreatedPayload,
    TripDetailsUpdated,
    TripDetailsUpdatedPayload,
    TripRestored,
    TripStatusChanged,
    TripStatusChangedPayload,
    TripVisibilityChanged,
    TripVisibilityChangedPayload,
)
from streams.topics import TRIP_EVENTS, USER_EVENTS
from streams.user_contracts import (
    UserDeactivated,
    UserPasswordChanged,
    UserProfileUpdated,
    UserProfileUpdatedPayload,
    UserRegistered,
    UserRegisteredPayload,
)
from write_side.identity.user import User
from write_side.trips.trip import Trip


def event_id_of(aggregate_id: UUID, version: int) -> UUID:
    """Stable per stored event, so a message published twice carries the same id."""
    return uuid5(NAMESPACE_URL, f"/events/{aggregate_id}/{version}")


def _envelope(event: Any) -> dict[str, Any]:
    return {
        "event_id": event_id_of(event.originator_id, event.originator_version),
        "aggregate_id": event.originator_id,
        "aggregate_version": event.originator_version,
        "occurred_at": event.timestamp,
        "actor_id": event.actor_id,
        "correlation_id": event.correlation_id,
    }


def _trip_created(event: Any) -> EventEnvelope:
    return TripCreated(
        **_envelope(event),
        payload=TripCreatedPayload(
            title=event.title,
            description=event.description,
            start_date=event.start_date,
            end_date=event.end_date,
            creator_id=event.creator_id,
        ),
    )


def _trip_details_updated(event: Any) -> EventEnvelope:
    return TripDetailsUpdated(
        **_envelope(event),
        payload=TripDetailsUpdatedPayload(
            title=event.title,
            description=event.description,
            start_date=event.start_date,
            end_date=event.end_date,
        ),
    )


def _destination_added(event: Any) -> EventEnvelope:
    return DestinationAdded(
        **_envelope(event),
        payload=DestinationAddedPayload(
            destination_id=event.destination_id,
            name=event.name,
            description=event.description,
            location=Location(**event.location),
            arrival_date=event.arrival_date,
            departure_date=event.departure_date,
            rank=event.rank,
        ),
    )


def _moment(local: datetime | None, time_zone: str | None, utc: datetime | None) -> Moment | None:
    if local is None or time_zone is None or utc is None:
        return None
    return Moment(local=local, time_zone=time_zone, utc=utc)


def _activity_added(event: Any) -> EventEnvelope:
    return ActivityAdded(
        **_envelope(event),
        payload=ActivityAddedPayload(
            destination_id=event.destination_id,
            activity_id=event.activity_id,
            title=event.title,
            description=event.description,
            activity_type=event.activity_type,
            start=_moment(event.start_local, event.start_time_zone, event.start_utc),
            end=_moment(event.end_local, event.end_time_zone, event.end_utc),
            cost=event.cost,
            currency=event.currency,
            rank=event.rank,
        ),
    )


def _destination_updated(event: Any) -> EventEnvelope:
    return DestinationUpdated(
        **_envelope(event),
        payload=DestinationUpdatedPayload(
            destination_id=event.destination_id,
            name=event.name,
            description=event.description,
            location=Location(**event.location),
            arrival_date=event.arrival_date,
            departure_date=event.departure_date,
        ),
    )


def _destination_removed(event: Any) -> EventEnvelope:
    return DestinationRemoved(
        **_envelope(event), payload=DestinationRefPayload(destination_id=event.destination_id)
    )


def _destination_moved(event: Any) -> EventEnvelope:
    return DestinationMoved(
        **_envelope(event),
        payload=RankedDestinationPayload(destination_id=event.destination_id, rank=event.rank),
    )


def _activity_updated(event: Any) -> EventEnvelope:
    stored: dict[str, Any] = event.changes
    changes: dict[str, Any] = {
        k: v
        for k, v in stored.items()
        if k in ("title", "description", "activity_type", "cost", "currency")
    }
    for end in ("start", "end"):
        if f"{end}_local" in stored:
            changes[end] = _moment(
                stored[f"{end}_local"], stored[f"{end}_time_zone"], stored[f"{end}_utc"]
            )
    return ActivityUpdated(
        **_envelope(event),
        payload=ActivityUpdatedPayload(
            activity_id=event.activity_id,
            changes=ActivityChanges(**changes),
            changed=tuple(sorted(changes)),
        ),
    )


def _activity_removed(event: Any) -> EventEnvelope:
    return ActivityRemoved(
        **_envelope(event), payload=ActivityRefPayload(activity_id=event.activity_id)
    )


def _activity_moved(event: Any) -> EventEnvelope:
    return ActivityMoved(
        **_envelope(event),
        payload=RankedActivityPayload(activity_id=event.activity_id, rank=event.rank),
    )


def _trip_status_changed(event: Any) -> EventEnvelope:
    return TripStatusChanged(
        **_envelope(event), payload=TripStatusChangedPayload(status=event.status)
    )


def _trip_visibility_changed(event: Any) -> EventEnvelope:
    return TripVisibilityChanged(
        **_envelope(event), payload=TripVisibilityChangedPayload(visibility=event.visibility)
    )


def _trip_archived(event: Any) -> EventEnvelope:
    return TripArchived(**_envelope(event))


def _trip_restored(event: Any) -> EventEnvelope:
    return TripRestored(**_envelope(event))


def _member_added(event: Any) -> EventEnvelope:
    return MemberAdded(
        **_envelope(event), payload=MemberPayload(user_id=event.user_id, role=event.role)
    )


def _member_role_changed(event: Any) -> EventEnvelope:
    return MemberRoleChanged(
        **_envelope(event), payload=MemberPayload(user_id=event.user_id, role=event.role)
    )


def _member_removed(event: Any) -> EventEnvelope:
    return MemberRemoved(**_envelope(event), payload=MemberRemovedPayload(user_id=event.user_id))


def _user_registered(event: Any) -> EventEnvelope:
    return UserRegistered(
        **_envelope(event),
        payload=UserRegisteredPayload(
            username=event.username, first_name=event.first_name, last_name=event.last_name
        ),
    )


def _user_profile_updated(event: Any) -> EventEnvelope:
    return UserProfileUpdated(
        **_envelope(event),
        payload=UserProfileUpdatedPayload(
            first_name=event.first_name,
            last_name=event.last_name,
            bio=event.bio,
            avatar_url=event.avatar_url,
        ),
    )


def _user_password_changed(event: Any) -> EventEnvelope:
    return UserPasswordChanged(**_envelope(event))  # the hash stays in the event store


def _user_deactivated(event: Any) -> EventEnvelope:
    return UserDeactivated(**_envelope(event))


def _stored_topic(aggregate: type[Any], event_name: str) -> str:
    """The class path eventsourcing stores with each event (`module:Class.Event`)."""
    return f"{aggregate.__module__}:{aggregate.__qualname__}.{event_name}"


_MAPPERS: dict[str, tuple[str, Callable[[Any], EventEnvelope]]] = {
    _stored_topic(Trip, "Created"): (TRIP_EVENTS, _trip_created),
    _stored_topic(Trip, "DetailsUpdated"): (TRIP_EVENTS, _trip_details_updated),
    _stored_topic(Trip, "DestinationAdded"): (TRIP_EVENTS, _destination_added),
    _stored_topic(Trip, "ActivityAdded"): (TRIP_EVENTS, _activity_added),
    _stored_topic(Trip, "DestinationUpdated"): (TRIP_EVENTS, _destination_updated),
    _stored_topic(Trip, "DestinationRemoved"): (TRIP_EVENTS, _destination_removed),
    _stored_topic(Trip, "DestinationMoved"): (TRIP_EVENTS, _destination_moved),
    _stored_topic(Trip, "ActivityUpdated"): (TRIP_EVENTS, _activity_updated),
    _stored_topic(Trip, "ActivityRemoved"): (TRIP_EVENTS, _activity_removed),
    _stored_topic(Trip, "ActivityMoved"): (TRIP_EVENTS, _activity_moved),
    _stored_topic(Trip, "StatusChanged"): (TRIP_EVENTS, _trip_status_changed),
    _stored_topic(Trip, "VisibilityChanged"): (TRIP_EVENTS, _trip_visibility_changed),
    _stored_topic(Trip, "Archived"): (TRIP_EVENTS, _trip_archived),
    _stored_topic(Trip, "Restored"): (TRIP_EVENTS, _trip_restored),
    _stored_topic(Trip, "MemberAdded"): (TRIP_EVENTS, _member_added),
    _stored_topic(Trip, "MemberRoleChanged"): (TRIP_EVENTS, _member_role_changed),
    _stored_topic(Trip, "MemberRemoved"): (TRIP_EVENTS, _member_removed),
    _stored_topic(User, "Registered"): (USER_EVENTS, _user_registered),
    _stored_topic(User, "ProfileUpdated"): (USER_EVENTS, _user_profile_updated),
    _stored_topic(User, "PasswordChanged"): (USER_EVENTS, _user_password_changed),
    _stored_topic(User, "Deactivated"): (USER_EVENTS, _user_deactivated),
}


def is_published(stored_topic: str) -> bool:
    return stored_topic in _MAPPERS


def to_contract(stored_topic: str, domain_event: object) -> tuple[str, EventEnvelope] | None:
    """The Kafka topic and contract for a stored domain event, or None if it is not published."""
    mapper = _MAPPERS.get(stored_topic)
    if mapper is None:
        return None
    topic, build = mapper
    return topic, build(domain_event)
