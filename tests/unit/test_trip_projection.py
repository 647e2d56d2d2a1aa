from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from projections.engine.projection import MissingStateError
from projections.trip_views import TRIP_VIEWS, trip_list_entries
from read_side.documents import TripDocument
from read_side.views import TripView
from streams.contracts import (
    ActivityChanges,
    ActivityUpdated,
    ActivityUpdatedPayload,
    EventEnvelope,
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


def fold(*events: EventEnvelope, state: TripDocument | None = None) -> TripDocument:
    folded = TRIP_VIEWS.fold(events, state)
    assert folded is not None
    return folded


def test_a_created_trip_becomes_a_view_with_its_owner_and_a_list_row() -> None:
    trip_id, creator = uuid4(), uuid4()
    document = fold(trip_created(trip_id, creator))
    view = TripView.model_validate(document)
    assert (view.id, view.version, view.role_of(creator)) == (trip_id, 1, "owner")
    (row,) = trip_list_entries(document)
    assert (row["user_id"], row["trip_id"], row["role"]) == (str(creator), str(trip_id), "owner")


def test_events_build_destinations_and_activities_in_order() -> None:
    trip_id, creator, kyoto, osaka, temple = uuid4(), uuid4(), uuid4(), uuid4(), uuid4()
    view = TripView.model_validate(
        fold(
            trip_created(trip_id, creator),
            destination_added(trip_id, 2, creator, kyoto, "Kyoto"),
            destination_added(trip_id, 3, creator, osaka, "Osaka"),
            activity_added(trip_id, 4, creator, kyoto, temple),
            details_updated(trip_id, 5, creator, "Japan 2027"),
        )
    )
    assert view.version == 5
    assert view.title == "Japan 2027"
    assert view.description == ""  # unchanged fields are kept
    assert [(d.name, d.order) for d in view.destinations] == [("Kyoto", 0), ("Osaka", 1)]
    (activity,) = view.destinations[0].activities
    assert (activity.id, activity.order, activity.cost) == (temple, 0, Decimal("12.50"))
    assert view.destinations[1].activities == ()
    assert view.totals == {"EUR": Decimal("12.50")}


def test_folding_leaves_the_state_it_started_from_unchanged() -> None:
    trip_id, creator = uuid4(), uuid4()
    first = fold(trip_created(trip_id, creator), destination_added(trip_id, 2, creator, uuid4()))
    snapshot = TripView.model_validate(first)
    fold(details_updated(trip_id, 3, creator, "New"), state=first)
    assert TripView.model_validate(first) == snapshot


def test_an_event_that_changes_a_trip_never_created_is_refused() -> None:
    with pytest.raises(MissingStateError):
        fold(details_updated(uuid4(), 2, uuid4(), "no creation seen"))


def test_a_null_in_a_field_that_cannot_be_null_is_refused_not_stored() -> None:
    trip_id, creator, kyoto, temple = uuid4(), uuid4(), uuid4(), uuid4()
    document = fold(
        trip_created(trip_id, creator),
        destination_added(trip_id, 2, creator, kyoto),
        activity_added(trip_id, 3, creator, kyoto, temple),
    )
    nulled = ActivityUpdated(
        **envelope(trip_id, 4, creator),
        payload=ActivityUpdatedPayload(
            activity_id=temple, changes=ActivityChanges(), changed=("description",)
        ),
    )
    with pytest.raises(ValueError, match="cannot set description"):
        fold(nulled, state=document)


def test_lifecycle_and_membership_events_shape_the_view_and_the_lists() -> None:
    trip_id, owner, friend = uuid4(), uuid4(), uuid4()
    document = fold(
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
    )
    view = TripView.model_validate(document)
    assert (view.status, view.visibility, view.version) == ("planned", "public", 5)
    assert view.role_of(friend) == "editor"
    assert {(e["user_id"], e["role"], e["status"]) for e in trip_list_entries(document)} == {
        (str(owner), "owner", "planned"),
        (str(friend), "editor", "planned"),
    }
    assert view.readable_by(uuid4())  # public

    archived = fold(TripArchived(**envelope(trip_id, 6, owner)), state=document)
    assert TripView.model_validate(archived).archived
    assert trip_list_entries(archived) == []  # out of every list
    assert not TripView.model_validate(archived).readable_by(owner)

    restored = fold(TripRestored(**envelope(trip_id, 7, owner)), state=archived)
    assert len(trip_list_entries(restored)) == 2
    removed = fold(
        MemberRemoved(**envelope(trip_id, 8, owner), payload=MemberRemovedPayload(user_id=friend)),
        state=restored,
    )
    assert [e["user_id"] for e in trip_list_entries(removed)] == [str(owner)]
