"""Contract events for tests, built with sensible defaults."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

from streams.contracts import (
    ActivityAdded,
    ActivityAddedPayload,
    DestinationAdded,
    DestinationAddedPayload,
    Location,
    MemberAdded,
    MemberPayload,
    Moment,
    TripCreated,
    TripCreatedPayload,
    TripDetailsUpdated,
    TripDetailsUpdatedPayload,
)
from streams.published_event import event_id_of
from streams.user_contracts import UserDeactivated, UserRegistered, UserRegisteredPayload

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def envelope(trip_id: UUID, version: int, actor_id: UUID) -> dict[str, object]:
    return {
        "event_id": event_id_of(trip_id, version),
        "aggregate_id": trip_id,
        "aggregate_version": version,
        "occurred_at": NOW,
        "actor_id": actor_id,
        "correlation_id": uuid4(),
    }


def trip_created(trip_id: UUID, creator_id: UUID, title: str = "Japan") -> TripCreated:
    return TripCreated(
        **envelope(trip_id, 1, creator_id),  # type: ignore[arg-type]
        payload=TripCreatedPayload(
            title=title,
            description="",
            start_date=date(2027, 4, 1),
            end_date=date(2027, 4, 20),
            creator_id=creator_id,
        ),
    )


def details_updated(trip_id: UUID, version: int, actor_id: UUID, title: str) -> TripDetailsUpdated:
    return TripDetailsUpdated(
        **envelope(trip_id, version, actor_id),  # type: ignore[arg-type]
        payload=TripDetailsUpdatedPayload(
            title=title, description=None, start_date=None, end_date=None
        ),
    )


def destination_added(
    trip_id: UUID, version: int, actor_id: UUID, destination_id: UUID, name: str = "Kyoto"
) -> DestinationAdded:
    return DestinationAdded(
        **envelope(trip_id, version, actor_id),  # type: ignore[arg-type]
        payload=DestinationAddedPayload(
            destination_id=destination_id,
            name=name,
            description="",
            location=Location(lat=35.0, lng=135.7, address="Kyoto"),
            arrival_date=date(2027, 4, 2),
            departure_date=date(2027, 4, 6),
            rank=None,
        ),
    )


def activity_added(
    trip_id: UUID, version: int, actor_id: UUID, destination_id: UUID, activity_id: UUID
) -> ActivityAdded:
    return ActivityAdded(
        **envelope(trip_id, version, actor_id),  # type: ignore[arg-type]
        payload=ActivityAddedPayload(
            destination_id=destination_id,
            activity_id=activity_id,
            title="Temple",
            description="",
            activity_type="sightseeing",
            start=Moment(
                local=datetime(2027, 4, 3, 9),
                time_zone="Asia/Tokyo",
                utc=datetime(2027, 4, 3, 0, tzinfo=UTC),
            ),
            end=None,
            cost=Decimal("12.50"),
            currency="EUR",
            rank=None,
        ),
    )


def another_activity(added: ActivityAdded, version: int, **changed: object) -> ActivityAdded:
    """`added` again, as a new activity at `version`, with these payload fields changed."""
    payload = added.payload.model_copy(update={"activity_id": uuid4(), **changed})
    return added.model_copy(
        update={"aggregate_version": version, "event_id": uuid4(), "payload": payload}
    )


def user_registered(
    user_id: UUID, username: str, first_name: str = "", last_name: str = ""
) -> UserRegistered:
    return UserRegistered(
        **envelope(user_id, 1, user_id),  # type: ignore[arg-type]
        payload=UserRegisteredPayload(
            username=username, first_name=first_name, last_name=last_name
        ),
    )


def user_deactivated(user_id: UUID, version: int) -> UserDeactivated:
    return UserDeactivated(**envelope(user_id, version, user_id))  # type: ignore[arg-type]


def member_added(
    trip_id: UUID, version: int, actor_id: UUID, user_id: UUID, role: str
) -> MemberAdded:
    return MemberAdded(
        **envelope(trip_id, version, actor_id),  # type: ignore[arg-type]
        payload=MemberPayload(user_id=user_id, role=role),
    )
