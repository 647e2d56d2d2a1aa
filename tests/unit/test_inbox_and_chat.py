"""The inbox and the chat service against the in-memory event store."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from write_side.chat.commands import EditMessage, PostMessage
from write_side.chat.service import Chat
from write_side.context import CommandContext, CommandKey, acting_as
from write_side.errors import (
    MessageContentError,
    NotMessageSenderError,
    ReplyOutsideRoomError,
    TripNotFoundError,
)
from write_side.event_store import EventStore
from write_side.notifications.inbox import Note, NotificationType, notification_id
from write_side.notifications.service import Notifications
from write_side.trips.access import Role
from write_side.trips.trip import Trip


def context(user: UUID, key: str | None = None) -> CommandContext:
    return CommandContext(user, uuid.uuid4(), CommandKey(key, key) if key else None)


def note(kind: NotificationType, trip: UUID, position: int, source: str = "trip") -> Note:
    return Note(
        id=notification_id(f"{source}/{position}", trip),
        type=kind,
        title="t",
        message=f"change {position}",
        trip_id=trip,
        related_user=None,
        source=f"{source}:{trip}",
        position=position,
    )


def test_an_inbox_takes_each_notice_once_and_gathers_updates_while_unread() -> None:
    service, user, trip = Notifications(EventStore()), uuid.uuid4(), uuid.uuid4()
    first = service.deliver(user, note(NotificationType.TRIP_UPDATE, trip, 1), context(user))
    again = service.deliver(user, note(NotificationType.TRIP_UPDATE, trip, 1), context(user))
    assert first.notification_id is not None and again.notification_id is None  # redelivered
    second = service.deliver(user, note(NotificationType.TRIP_UPDATE, trip, 2), context(user))
    assert (second.notification_id, second.count, second.unread_count) == (
        first.notification_id,
        2,
        1,
    )
    invite = service.deliver(user, note(NotificationType.TRIP_INVITE, trip, 3), context(user))
    assert invite.notification_id != first.notification_id and invite.unread_count == 2
    assert first.notification_id is not None
    read = service.read(user, first.notification_id, context(user))
    assert read.unread_count == 1
    third = service.deliver(user, note(NotificationType.TRIP_UPDATE, trip, 4), context(user))
    assert third.notification_id not in (None, first.notification_id)  # a new one, once read
    done = service.read_all(user, datetime.now(UTC), context(user))
    assert done.unread_count == 0
    assert service.read_all(user, datetime.now(UTC), context(user)).version == done.version


def test_a_reminder_is_given_once_per_start_instant_and_an_inbox_snapshots() -> None:
    events = EventStore()
    service, user, trip, activity = Notifications(events), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    at = datetime(2027, 5, 1, 9, tzinfo=UTC)
    reminder = note(NotificationType.ACTIVITY_REMINDER, trip, 0, "reminder")
    assert service.remind(user, activity, at, reminder, context(user)).notification_id
    assert service.remind(user, activity, at, reminder, context(user)).notification_id is None
    moved = note(NotificationType.ACTIVITY_REMINDER, trip, 1, "reminder")
    later = at + timedelta(hours=1)
    assert service.remind(user, activity, later, moved, context(user)).notification_id
    for position in range(1, 120):  # past the snapshot interval, one message room
        service.deliver(user, note(NotificationType.MESSAGE, trip, position, "chat"), context(user))
    inbox = service.inbox(user)
    assert inbox is not None and inbox.unread_count == 3
    assert inbox.count_of(notification_id("chat/1", trip)) == 119


@pytest.fixture
def room() -> tuple[Chat, UUID, UUID, UUID]:
    events = EventStore()
    owner, member = uuid.uuid4(), uuid.uuid4()
    with acting_as(context(owner)):
        trip = Trip.plan(
            title="T",
            description="",
            start_date=date(2027, 1, 1),
            end_date=date(2027, 1, 2),
            creator_id=owner,
        )
        trip.add_member(member, Role.EDITOR)
    events.save(trip)
    return Chat(events), trip.id, owner, member


def test_posts_take_consecutive_slots_even_from_services_that_know_nothing(
    room: tuple[Chat, UUID, UUID, UUID],
) -> None:
    chat, trip, owner, member = room
    other = Chat(chat.events)  # another API instance: its hints are empty
    seqs = [chat.post(PostMessage(trip, f"m{n}"), context(owner)).seq for n in range(40)]
    assert seqs == list(range(1, 41))
    assert other.post(PostMessage(trip, "late"), context(member)).seq == 41
    assert chat.post(PostMessage(trip, "again"), context(owner)).seq == 42  # hint behind
    assert other.head(trip) == chat.head(trip) == 42
    assert [m.seq for m in chat.messages(trip, 39, 42)] == [40, 41, 42]


def test_posts_are_checked_and_keyed_and_only_their_sender_edits(
    room: tuple[Chat, UUID, UUID, UUID],
) -> None:
    chat, trip, owner, member = room
    keyed = chat.post(PostMessage(trip, "once"), context(owner, "k1"))
    assert chat.post(PostMessage(trip, "once"), context(owner, "k1")).id == keyed.id
    assert chat.head(trip) == 1
    with pytest.raises(TripNotFoundError):
        chat.post(PostMessage(trip, "hi"), context(uuid.uuid4()))
    with pytest.raises(MessageContentError):
        chat.post(PostMessage(trip, "   "), context(owner))
    with pytest.raises(ReplyOutsideRoomError):
        chat.post(PostMessage(trip, "re", reply_to=uuid.uuid4()), context(owner))
    with pytest.raises(NotMessageSenderError):
        chat.edit(EditMessage(trip, keyed.id, "mine now"), context(member))
    edited = chat.edit(EditMessage(trip, keyed.id, "twice"), context(owner))
    assert (edited.content, edited.is_edited, edited.seq) == ("twice", True, 1)
