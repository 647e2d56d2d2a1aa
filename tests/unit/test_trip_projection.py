from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from projections.trip_view import project_trip
from projections.versioning import ProjectionGapError
from streams.contracts import (
    MemberAdded,
    MemberPayload,
    MemberRemoved,
    MemberRemovedPayload,
    MemberRoleChanged,
    TripArchived,
    TripRestored,
    TripStatusChanged,
    TripStatusChangedPayload,
    TripVisibilityChanged,
    TripVisibilityChangedPayload,
)
from tests.builders import (
    activity_added,
    destination_added,
    details_updated,
    envelope,
    trip_created,
)


def test_a_created_trip_becomes_a_view_with_its_owner_and_a_list_row() -> None:
    trip_id, creator = uuid4(), uuid4()
    change = project_trip(trip_created(trip_id, creator), None)
    assert change is not None
    assert change.view.id == trip_id
    assert change.view.version == 1
    assert change.view.role_of(creator) == "owner"
    (row,) = change.summaries
    assert (row.user_id, row.trip_id, row.role, row.version) == (creator, trip_id, "owner", 1)


def test_events_build_destinations_and_activities_in_order() -> None:
    trip_id, creator, kyoto, osaka, temple = uuid4(), uuid4(), uuid4(), uuid4(), uuid4()
    events = [
        trip_created(trip_id, creator),
        destination_added(trip_id, 2, creator, kyoto, "Kyoto"),
        destination_added(trip_id, 3, creator, osaka, "Osaka"),
        activity_added(trip_id, 4, creator, kyoto, temple),
        details_updated(trip_id, 5, creator, "Japan 2027"),
    ]
    view = None
    for event in events:
        change = project_trip(event, view)
        assert change is not None
        view = change.view
    assert view is not None
    assert view.version == 5
    assert view.title == "Japan 2027"
    assert view.description == ""  # unchanged fields are kept
    assert [(d.name, d.order) for d in view.destinations] == [("Kyoto", 0), ("Osaka", 1)]
    (activity,) = view.destinations[0].activities
    assert (activity.id, activity.order, activity.cost) == (temple, 0, Decimal("12.50"))
    assert view.destinations[1].activities == ()


def test_an_event_already_applied_is_skipped() -> None:
    trip_id, creator = uuid4(), uuid4()
    created = trip_created(trip_id, creator)
    first = project_trip(created, None)
    assert first is not None
    second = project_trip(details_updated(trip_id, 2, creator, "New"), first.view)
    assert second is not None
    assert project_trip(created, second.view) is None
    assert project_trip(details_updated(trip_id, 2, creator, "New"), second.view) is None


def test_a_gap_in_versions_is_refused_rather_than_guessed() -> None:
    trip_id, creator = uuid4(), uuid4()
    first = project_trip(trip_created(trip_id, creator), None)
    assert first is not None
    with pytest.raises(ProjectionGapError):
        project_trip(details_updated(trip_id, 3, creator, "skipped v2"), first.view)
    with pytest.raises(ProjectionGapError):
        project_trip(details_updated(trip_id, 2, creator, "no creation seen"), None)


def test_lifecycle_and_membership_events_shape_the_view_and_the_lists() -> None:
    trip_id, owner, friend = uuid4(), uuid4(), uuid4()
    events = [
        trip_created(trip_id, owner),
        MemberAdded(
            **envelope(trip_id, 2, owner), payload=MemberPayload(user_id=friend, role="viewer")
        ),
        MemberRoleChanged(
            **envelope(trip_id, 3, owner), payload=MemberPayload(user_id=friend, role="editor")
        ),
        TripStatusChanged(
            **envelope(trip_id, 4, owner), payload=TripStatusChangedPayload(status="planned")
        ),
        TripVisibilityChanged(
            **envelope(trip_id, 5, owner), payload=TripVisibilityChangedPayload(visibility="public")
        ),
    ]
    change = None
    for event in events:
        change = project_trip(event, change.view if change else None)
        assert change is not None
    view = change.view
    assert (view.status, view.visibility, view.version) == ("planned", "public", 5)
    assert view.role_of(friend) == "editor"
    assert {(s.user_id, s.role, s.status) for s in change.summaries} == {
        (owner, "owner", "planned"),
        (friend, "editor", "planned"),
    }
    assert view.readable_by(uuid4())  # public

    archived = project_trip(TripArchived(**envelope(trip_id, 6, owner)), view)
    assert archived is not None and archived.view.archived
    assert archived.summaries == []  # out of every list
    assert not archived.view.readable_by(owner)

    restored = project_trip(TripRestored(**envelope(trip_id, 7, owner)), archived.view)
    assert restored is not None and len(restored.summaries) == 2
    removed = project_trip(
        MemberRemoved(**envelope(trip_id, 8, owner), payload=MemberRemovedPayload(user_id=friend)),
        restored.view,
    )
    assert removed is not None and [s.user_id for s in removed.summaries] == [owner]
