"""The effect projections' crash window: a batch whose effects were carried out but whose
commit was lost is applied again. Doing the effects twice must change nothing."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from infra.chat_announcer import ChatAnnouncer
from infra.live.memory_feed import InProcessFeed, InProcessPresence
from infra.notifier import Notifier
from projections.chat_announcements import Announcement
from projections.notifier import Notice
from write_side.chat.service import Chat
from write_side.context import CommandContext, acting_as
from write_side.event_store import EventStore
from write_side.notifications.service import Notifications
from write_side.trips.access import Role
from write_side.trips.trip import Trip

pytestmark = pytest.mark.anyio


class Names:
    async def usernames(self, user_ids: Collection[UUID]) -> dict[UUID, str]:
        return {u: f"user-{str(u)[:4]}" for u in user_ids}

    async def profiles(self, user_ids: Collection[UUID]) -> dict[UUID, Any]:
        return {}


def a_trip(events: EventStore) -> tuple[UUID, UUID, UUID]:
    owner, member = uuid.uuid4(), uuid.uuid4()
    with acting_as(CommandContext(owner, uuid.uuid4())):
        trip = Trip.plan(
            title="T",
            description="",
            start_date=date(2027, 1, 1),
            end_date=date(2027, 1, 2),
            creator_id=owner,
        )
        trip.add_member(member, Role.EDITOR)
    events.save(trip)
    return trip.id, owner, member


async def test_an_announcement_posted_twice_is_one_message() -> None:
    events = EventStore()
    trip, owner, member = a_trip(events)
    announce = ChatAnnouncer(Chat(events), Names(), InProcessFeed())  # type: ignore[arg-type]
    joined = Announcement(
        key=str(uuid.uuid4()),
        trip_id=str(trip),
        actor_id=str(owner),
        kind="member_joined",
        user_id=str(member),
        start_date=None,
        end_date=None,
    )
    await announce([joined])
    await announce([joined])  # the batch again, after a crash before its commit
    chat = Chat(events)
    assert chat.head(trip) == 1
    assert chat.messages(trip, 0, 1)[0].content.endswith("joined the trip")


async def test_a_notice_delivered_twice_is_one_notification() -> None:
    events = EventStore()
    trip, owner, member = a_trip(events)
    notifications = Notifications(events)
    notify = Notifier(notifications, Names(), InProcessFeed(), InProcessPresence())  # type: ignore[arg-type]
    changed = Notice(
        key=str(uuid.uuid4()),
        kind="trip_update",
        trip_id=str(trip),
        actor_id=str(owner),
        correlation_id=str(uuid.uuid4()),
        source=f"trip:{trip}",
        position=3,
        invited=None,
        summary="the trip's details changed",
    )
    await notify([changed])
    await notify([changed])
    inbox = notifications.inbox(member)
    assert inbox is not None and inbox.unread_count == 1
    (only,) = inbox.unread
    assert inbox.count_of(UUID(only)) == 1  # not counted twice either
    assert notifications.inbox(owner) is None  # the actor hears nothing
