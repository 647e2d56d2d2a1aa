from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest

from streams.history import history_entries
from write_side.context import CommandContext, acting_as
from write_side.errors import (
    AlreadyMemberError,
    ForbiddenError,
    InvalidStatusTransitionError,
    LastOwnerError,
    MemberNotFoundError,
    TripNotFoundError,
    UserNotFoundError,
)
from write_side.event_store import EventStore
from write_side.identity.user import User
from write_side.trips.access import Role, TripStatus, Visibility
from write_side.trips.commands import (
    AddMember,
    ArchiveTrip,
    ChangeMemberRole,
    PlanTrip,
    RemoveMember,
    RestoreTrip,
    UpdateTripDetails,
)
from write_side.trips.planner import TripPlanner

S = TripStatus
ALLOWED_TRANSITIONS = {
    (S.DRAFT, S.PLANNED),
    (S.PLANNED, S.ACTIVE),
    (S.ACTIVE, S.COMPLETED),
    (S.DRAFT, S.CANCELLED),
    (S.PLANNED, S.CANCELLED),
    (S.ACTIVE, S.CANCELLED),
}
PATH_TO = {
    S.DRAFT: [],
    S.PLANNED: [S.PLANNED],
    S.ACTIVE: [S.PLANNED, S.ACTIVE],
    S.COMPLETED: [S.PLANNED, S.ACTIVE, S.COMPLETED],
    S.CANCELLED: [S.CANCELLED],
}


def ctx(user_id: UUID) -> CommandContext:
    return CommandContext(actor_id=user_id, correlation_id=uuid4())


@pytest.fixture
def planner() -> TripPlanner:
    return TripPlanner(EventStore())


def new_user(planner: TripPlanner) -> UUID:
    user_id = uuid4()
    with acting_as(ctx(user_id)):
        user = User(
            user_id=user_id,
            email=f"{user_id}@x.org",
            username=str(user_id),
            password_hash="-",
            first_name="",
            last_name="",
        )
    planner.events.save(user)
    return user_id


def trip_of(planner: TripPlanner, owner: UUID) -> UUID:
    return planner.plan_trip(PlanTrip("T", "", date(2027, 1, 1), date(2027, 1, 9)), ctx(owner)).id


@pytest.mark.parametrize("start", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_status_transition_is_allowed_or_refused_as_specified(
    planner: TripPlanner, start: S, target: S
) -> None:
    owner = new_user(planner)
    trip_id = trip_of(planner, owner)
    for step in PATH_TO[start]:
        planner.update_trip_details(UpdateTripDetails(trip_id, status=step), ctx(owner))
    change = UpdateTripDetails(trip_id, status=target)
    if start == target or (start, target) in ALLOWED_TRANSITIONS:
        planner.update_trip_details(change, ctx(owner))
        assert planner.get_trip(trip_id).status == target
    else:
        with pytest.raises(InvalidStatusTransitionError):
            planner.update_trip_details(change, ctx(owner))
        assert planner.get_trip(trip_id).status == start


def test_the_last_owner_can_neither_leave_nor_be_demoted(planner: TripPlanner) -> None:
    owner, editor = new_user(planner), new_user(planner)
    trip_id = trip_of(planner, owner)
    planner.add_member(AddMember(trip_id, editor, Role.EDITOR), ctx(owner))
    with pytest.raises(LastOwnerError):
        planner.remove_member(RemoveMember(trip_id, owner), ctx(owner))
    with pytest.raises(LastOwnerError):
        planner.change_member_role(ChangeMemberRole(trip_id, owner, Role.VIEWER), ctx(owner))
    planner.change_member_role(ChangeMemberRole(trip_id, editor, Role.OWNER), ctx(owner))
    planner.remove_member(RemoveMember(trip_id, owner), ctx(owner))  # now they may leave
    assert planner.get_trip(trip_id).members == {editor: Role.OWNER}


def test_members_are_real_users_added_once(planner: TripPlanner) -> None:
    owner, friend = new_user(planner), new_user(planner)
    trip_id = trip_of(planner, owner)
    with pytest.raises(UserNotFoundError):
        planner.add_member(AddMember(trip_id, uuid4(), Role.VIEWER), ctx(owner))
    planner.add_member(AddMember(trip_id, friend, Role.VIEWER), ctx(owner))
    with pytest.raises(AlreadyMemberError):
        planner.add_member(AddMember(trip_id, friend, Role.EDITOR), ctx(owner))
    with pytest.raises(MemberNotFoundError):
        planner.remove_member(RemoveMember(trip_id, uuid4()), ctx(owner))


def test_roles_bound_what_members_may_do(planner: TripPlanner) -> None:
    owner, editor, viewer = new_user(planner), new_user(planner), new_user(planner)
    trip_id = trip_of(planner, owner)
    planner.add_member(AddMember(trip_id, editor, Role.EDITOR), ctx(owner))
    planner.add_member(AddMember(trip_id, viewer, Role.VIEWER), ctx(owner))
    planner.update_trip_details(UpdateTripDetails(trip_id, title="by editor"), ctx(editor))
    with pytest.raises(ForbiddenError):
        planner.update_trip_details(UpdateTripDetails(trip_id, title="x"), ctx(viewer))
    with pytest.raises(ForbiddenError):
        planner.update_trip_details(
            UpdateTripDetails(trip_id, visibility=Visibility.PUBLIC), ctx(editor)
        )
    with pytest.raises(ForbiddenError):
        planner.add_member(AddMember(trip_id, new_user(planner), Role.VIEWER), ctx(editor))
    planner.remove_member(RemoveMember(trip_id, viewer), ctx(viewer))  # anyone may leave
    assert viewer not in planner.get_trip(trip_id).members


def test_an_archived_trip_is_gone_but_for_its_owner_who_can_restore_it(
    planner: TripPlanner,
) -> None:
    owner, editor = new_user(planner), new_user(planner)
    trip_id = trip_of(planner, owner)
    planner.add_member(AddMember(trip_id, editor, Role.EDITOR), ctx(owner))
    with pytest.raises(ForbiddenError):
        planner.archive_trip(ArchiveTrip(trip_id), ctx(editor))
    planner.archive_trip(ArchiveTrip(trip_id), ctx(owner))
    for actor in (owner, editor):
        with pytest.raises(TripNotFoundError):
            planner.update_trip_details(UpdateTripDetails(trip_id, title="x"), ctx(actor))
        with pytest.raises(TripNotFoundError):
            planner.history(trip_id, actor)
    with pytest.raises(TripNotFoundError):
        planner.restore_trip(RestoreTrip(trip_id), ctx(editor))
    planner.restore_trip(RestoreTrip(trip_id), ctx(owner))
    planner.update_trip_details(UpdateTripDetails(trip_id, title="back"), ctx(editor))


def test_history_lists_who_did_what_in_order_to_members_only(planner: TripPlanner) -> None:
    owner, friend = new_user(planner), new_user(planner)
    trip_id = trip_of(planner, owner)
    planner.add_member(AddMember(trip_id, friend, Role.EDITOR), ctx(owner))
    planner.update_trip_details(UpdateTripDetails(trip_id, title="Renamed"), ctx(friend))
    history = history_entries(planner.history(trip_id, friend))
    assert [(e["version"], e["event_type"], e["actor_id"]) for e in history] == [
        (1, "TripCreated", str(owner)),
        (2, "MemberAdded", str(owner)),
        (3, "TripDetailsUpdated", str(friend)),
    ]
    assert history[2]["changes"]["title"] == "Renamed"
    later = planner.history(trip_id, owner, after_version=1, limit=1)
    assert [e.originator_version for e in later] == [2]
    with pytest.raises(TripNotFoundError):
        planner.history(trip_id, uuid4())
