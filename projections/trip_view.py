"""The trip view projection: (contract event, current view) → new view. Pure; no I/O."""

from __future__ import annotations

from functools import singledispatch

from projections.versioning import ProjectionGapError, is_next
from read_side.store import TripViewChange
from read_side.views import ActivityView, DestinationView, MemberView, TripSummary, TripView
from streams.contracts import (
    ActivityAdded,
    DestinationAdded,
    EventEnvelope,
    MemberAdded,
    MemberRemoved,
    MemberRoleChanged,
    TripArchived,
    TripCreated,
    TripDetailsUpdated,
    TripRestored,
    TripStatusChanged,
    TripVisibilityChanged,
)


def project_trip(event: EventEnvelope, current: TripView | None) -> TripViewChange | None:
    """The change to store for `event`, or None when the view already reflects it."""
    if not is_next(event, None if current is None else current.version):
        return None
    view = _apply(event, current)
    return TripViewChange(view=view, summaries=summaries_of(view))


def summaries_of(view: TripView) -> list[TripSummary]:
    """The trip-list row of every member; an archived trip is in nobody's list."""
    if view.archived:
        return []
    return [
        TripSummary(
            user_id=member.user_id,
            trip_id=view.id,
            role=member.role,
            title=view.title,
            start_date=view.start_date,
            end_date=view.end_date,
            status=view.status,
            version=view.version,
            updated_at=view.updated_at,
        )
        for member in view.members
    ]


@singledispatch
def _apply(event: EventEnvelope, current: TripView | None) -> TripView:
    raise TypeError(f"No trip projection for {event.event_type}")


@_apply.register
def _(event: TripCreated, current: TripView | None) -> TripView:
    p = event.payload
    return TripView(
        id=event.aggregate_id,
        version=event.aggregate_version,
        title=p.title,
        description=p.description,
        start_date=p.start_date,
        end_date=p.end_date,
        creator_id=p.creator_id,
        members=(MemberView(user_id=p.creator_id, role="owner"),),
        created_at=event.occurred_at,
        updated_at=event.occurred_at,
    )


def _existing(event: EventEnvelope, current: TripView | None) -> TripView:
    if current is None:
        raise ProjectionGapError(event, None)
    return current


@_apply.register
def _(event: TripDetailsUpdated, current: TripView | None) -> TripView:
    view = _existing(event, current)
    changes = event.payload.model_dump(exclude_none=True)
    return view.model_copy(
        update={
            **changes,
            "version": event.aggregate_version,
            "updated_at": event.occurred_at,
        }
    )


@_apply.register
def _(event: DestinationAdded, current: TripView | None) -> TripView:
    view = _existing(event, current)
    p = event.payload
    destination = DestinationView(
        id=p.destination_id,
        name=p.name,
        description=p.description,
        location=p.location.model_dump(),
        arrival_date=p.arrival_date,
        departure_date=p.departure_date,
        order=len(view.destinations),
    )
    return view.model_copy(
        update={
            "destinations": (*view.destinations, destination),
            "version": event.aggregate_version,
            "updated_at": event.occurred_at,
        }
    )


@_apply.register
def _(event: ActivityAdded, current: TripView | None) -> TripView:
    view = _existing(event, current)
    p = event.payload

    def with_activity(destination: DestinationView) -> DestinationView:
        if destination.id != p.destination_id:
            return destination
        activity = ActivityView(
            id=p.activity_id,
            title=p.title,
            description=p.description,
            activity_type=p.activity_type,
            start_time=p.start_time,
            end_time=p.end_time,
            cost=p.cost,
            order=len(destination.activities),
        )
        return destination.model_copy(update={"activities": (*destination.activities, activity)})

    return view.model_copy(
        update={
            "destinations": tuple(with_activity(d) for d in view.destinations),
            "version": event.aggregate_version,
            "updated_at": event.occurred_at,
        }
    )


def _changed(event: EventEnvelope, current: TripView | None, **changes: object) -> TripView:
    view = _existing(event, current)
    return view.model_copy(
        update={**changes, "version": event.aggregate_version, "updated_at": event.occurred_at}
    )


@_apply.register
def _(event: TripStatusChanged, current: TripView | None) -> TripView:
    return _changed(event, current, status=event.payload.status)


@_apply.register
def _(event: TripVisibilityChanged, current: TripView | None) -> TripView:
    return _changed(event, current, visibility=event.payload.visibility)


@_apply.register
def _(event: TripArchived, current: TripView | None) -> TripView:
    return _changed(event, current, archived=True)


@_apply.register
def _(event: TripRestored, current: TripView | None) -> TripView:
    return _changed(event, current, archived=False)


@_apply.register
def _(event: MemberAdded, current: TripView | None) -> TripView:
    view = _existing(event, current)
    member = MemberView(user_id=event.payload.user_id, role=event.payload.role)
    return _changed(event, view, members=(*view.members, member))


@_apply.register
def _(event: MemberRoleChanged, current: TripView | None) -> TripView:
    view = _existing(event, current)
    members = tuple(
        MemberView(user_id=m.user_id, role=event.payload.role)
        if m.user_id == event.payload.user_id
        else m
        for m in view.members
    )
    return _changed(event, view, members=members)


@_apply.register
def _(event: MemberRemoved, current: TripView | None) -> TripView:
    view = _existing(event, current)
    members = tuple(m for m in view.members if m.user_id != event.payload.user_id)
    return _changed(event, view, members=members)
