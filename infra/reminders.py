"""Activity reminders: a timer asks the activity schedule which activities start within the
lead time and reminds each member of their trip, once per activity and start instant (the
inbox remembers; an activity moved to another time is reminded again).

It runs in the Faust worker (distributed mode) or in the API process (embedded mode); two
running at once remind no one twice, as each inbox takes a reminder once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta
from uuid import UUID

import psycopg
from psycopg_pool import AsyncConnectionPool

from infra.notifier import push
from infra.postgres.projections.schedule_tables import TABLE
from read_side.live import LiveFeed
from write_side.context import SYSTEM, CommandContext
from write_side.errors import DomainError
from write_side.notifications.inbox import Note, NotificationType, notification_id
from write_side.notifications.service import Notifications

log = logging.getLogger(__name__)

REMEMBERED = 100_000  # reminders this process knows it gave, so it asks no inbox again


class Reminders:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        notifications: Notifications,
        feed: LiveFeed,
        lead: timedelta,
    ) -> None:
        self._pool = pool
        self._notifications = notifications
        self._feed = feed
        self._lead = lead
        self._given: set[tuple[UUID, datetime, UUID]] = set()

    async def run(self, every: float) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(every)

    async def tick(self) -> None:
        """One check, whatever happens: a timer calls it again at the next tick."""
        try:
            await self.check()
        except (DomainError, psycopg.Error, OSError) as error:  # a store is down
            log.warning("activity reminders could not be checked: %s", error)
        except Exception:  # a bug: say so loudly, and keep reminding what can be
            log.exception("activity reminders failed")

    async def check(self) -> int:
        """Remind whoever is due; how many reminders were given."""
        async with self._pool.connection() as conn:
            found = await conn.execute(
                f"SELECT activity_id, trip_id, title, starts_at FROM {TABLE}"
                " WHERE starts_at > now() AND starts_at <= now() + %s ORDER BY starts_at",
                (self._lead,),
            )
            due = await found.fetchall()
        given = 0
        for activity_id, trip_id, title, starts_at in due:
            trip, members = await asyncio.to_thread(self._notifications.members, trip_id)
            if trip is None:
                continue
            for member in members:
                if (activity_id, starts_at, member) in self._given:
                    continue
                given += await self._remind(
                    member, activity_id, trip_id, trip.title, title, starts_at
                )
        return given

    async def _remind(
        self,
        member: UUID,
        activity_id: UUID,
        trip_id: UUID,
        trip_title: str,
        title: str,
        starts_at: datetime,
    ) -> int:
        note = Note(
            id=notification_id(f"reminder/{activity_id}/{starts_at.isoformat()}", member),
            type=NotificationType.ACTIVITY_REMINDER,
            title=f"{title} starts soon",
            message=f"{title} ({trip_title}) starts at {starts_at.isoformat()}",
            trip_id=trip_id,
            related_user=None,
            source=f"reminder:{activity_id}",
            position=0,
        )
        context = CommandContext(SYSTEM, uuid.uuid4())
        delivered = await asyncio.to_thread(
            self._notifications.remind, member, activity_id, starts_at, note, context
        )
        if len(self._given) > REMEMBERED:
            self._given.clear()
        self._given.add((activity_id, starts_at, member))
        await push(self._feed, member, note, delivered)
        return 1 if delivered.notification_id is not None else 0
