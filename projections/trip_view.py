"""The trip view projection: (contract event, current view) → new view. Pure; no I/O."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import singledispatch
from typing import Any
from uuid import UUID

from fractional_indexing import generate_key_between

from projections.versioning import ProjectionGapError, is_next
from read_side.store import TripViewChange
from read_side.views import (
    ActivityView,
    DestinationView,
    MemberView,
    MomentView,
    TripSummary,
    TripView,
)
from streams.contracts import (
    ActivityAdded,
    ActivityMoved,
    ActivityRemoved,
    ActivityUpdated,
    DestinationAdded,
    DestinationMoved,
    DestinationRemoved,
    DestinationUpdated,
    EventEnvelope,
    MemberAdded,
    MemberRemoved,
    MemberRoleChanged,
    Moment,
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
    return _changed(event, current, **event.payload.model_dump(exclude_none=True))


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
        rank=p.rank or _rank_last(view.destinations),
        order=0,
    )
    return _changed(event, view, destinations=(*view.destinations, destination))


@_apply.register
def _(event: DestinationUpdated, current: TripView | None) -> TripView:
    p = event.payload
    changes = p.model_dump(exclude={"destination_id"})
    changes["location"] = p.location.model_dump()
    return _with_destination(
        event, current, p.destination_id, lambda d: d.model_copy(update=changes)
    )


@_apply.register
def _(event: DestinationRemoved, current: TripView | None) -> TripView:
    view = _existing(event, current)
    kept = tuple(d for d in view.destinations if d.id != event.payload.destination_id)
    return _changed(event, view, destinations=kept)


@_apply.register
def _(event: DestinationMoved, current: TripView | None) -> TripView:
    rank = event.payload.rank
    return _with_destination(
        event, current, event.payload.destination_id, lambda d: d.model_copy(update={"rank": rank})
    )


def _moment(moment: Moment | None) -> MomentView | None:
    return None if moment is None else MomentView(**moment.model_dump())


@_apply.register
def _(event: ActivityAdded, current: TripView | None) -> TripView:
    p = event.payload

    def add(destination: DestinationView) -> DestinationView:
        activity = ActivityView(
            id=p.activity_id,
            title=p.title,
            description=p.description,
            activity_type=p.activity_type,
            start=_moment(p.start),
            end=_moment(p.end),
            cost=p.cost,
            currency=p.currency,
            rank=p.rank or _rank_last(destination.activities),
            order=0,
        )
        return destination.model_copy(update={"activities": (*destination.activities, activity)})

    return _with_destination(event, current, p.destination_id, add)


@_apply.register
def _(event: ActivityUpdated, current: TripView | None) -> TripView:
    p = event.payload
    changes: dict[str, Any] = {}
    for name in p.changed:
        value = getattr(p.changes, name)
        changes[name] = _moment(value) if name in ("start", "end") else value
    return _with_activity(event, current, p.activity_id, lambda a: a.model_copy(update=changes))


@_apply.register
def _(event: ActivityRemoved, current: TripView | None) -> TripView:
    view = _existing(event, current)
    gone = event.payload.activity_id
    destinations = tuple(
        d.model_copy(update={"activities": tuple(a for a in d.activities if a.id != gone)})
        for d in view.destinations
    )
    return _changed(event, view, destinations=destinations)


@_apply.register
def _(event: ActivityMoved, current: TripView | None) -> TripView:
    rank = event.payload.rank
    return _with_activity(
        event, current, event.payload.activity_id, lambda a: a.model_copy(update={"rank": rank})
    )


def _with_destination(
    event: EventEnvelope,
    current: TripView | None,
    destination_id: UUID,
    change: Callable[[DestinationView], DestinationView],
) -> TripView:
    view = _existing(event, current)
    destinations = tuple(change(d) if d.id == destination_id else d for d in view.destinations)
    return _changed(event, view, destinations=destinations)


def _with_activity(
    event: EventEnvelope,
    current: TripView | None,
    activity_id: UUID,
    change: Callable[[ActivityView], ActivityView],
) -> TripView:
    view = _existing(event, current)

    def in_destination(destination: DestinationView) -> DestinationView:
        activities = tuple(change(a) if a.id == activity_id else a for a in destination.activities)
        return destination.model_copy(update={"activities": activities})

    return _changed(event, view, destinations=tuple(in_destination(d) for d in view.destinations))


def _rank_last(siblings: tuple[DestinationView, ...] | tuple[ActivityView, ...]) -> str:
    """Where the write side put an item added before ranks existed: after its siblings."""
    ranks = sorted(s.rank for s in siblings)
    return str(generate_key_between(ranks[-1] if ranks else None, None))


def _arranged(destinations: tuple[DestinationView, ...]) -> tuple[DestinationView, ...]:
    """Destinations and activities in rank order, numbered."""
    ordered = sorted(destinations, key=lambda d: (d.rank, str(d.id)))
    return tuple(
        d.model_copy(
            update={
                "order": n,
                "activities": tuple(
                    a.model_copy(update={"order": m})
                    for m, a in enumerate(sorted(d.activities, key=lambda a: (a.rank, str(a.id))))
                ),
            }
        )
        for n, d in enumerate(ordered)
    )


def _totals(destinations: tuple[DestinationView, ...]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for destination in destinations:
        for activity in destination.activities:
            if activity.cost is not None and activity.currency is not None:
                totals[activity.currency] = (
                    totals.get(activity.currency, Decimal(0)) + activity.cost
                )
    return dict(sorted(totals.items()))


def _changed(event: EventEnvelope, current: TripView | None, **changes: Any) -> TripView:
    view = _existing(event, current)
    if "destinations" in changes:
        changes["destinations"] = _arranged(changes["destinations"])
        changes["totals"] = _totals(changes["destinations"])
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
