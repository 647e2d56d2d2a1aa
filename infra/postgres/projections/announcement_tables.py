"""The chat announcements projection keeps no table of its own (only the engine's tracking and
dead letters): storing a batch's state means posting its announcements. The batch commits
after they were posted, so a crash in between posts them again, and their keys make the
second post a no-op. A rebuild replays history without announcing it again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from uuid import UUID

from psycopg import AsyncConnection, sql

from infra.postgres.projections.names import LIVE, Generation
from projections.chat_announcements import CHAT_ANNOUNCEMENTS, Announcement, Announcements
from projections.engine.ports import Change

Announce = Callable[[Sequence[Announcement]], Awaitable[None]]


class AnnouncementTables:
    projection = CHAT_ANNOUNCEMENTS.name
    tables: tuple[str, ...] = ()

    def __init__(self, announce: Announce | None = None) -> None:
        self._announce = announce

    def create(self, gen: Generation) -> list[sql.Composed]:
        return []

    def indexes(self, gen: Generation) -> list[sql.Composed]:
        return []

    async def load(
        self, conn: AsyncConnection, gen: Generation, ids: list[UUID]
    ) -> dict[UUID, Announcements]:
        return {}

    async def save(
        self,
        conn: AsyncConnection,
        gen: Generation,
        changes: Mapping[UUID, Change[Announcements]],
    ) -> None:
        if gen != LIVE:
            return
        due = [a for change in changes.values() if change.state for a in change.state["new"]]
        if not due:
            return
        if self._announce is None:
            raise RuntimeError("chat announcements need a chat service to post them")
        await self._announce(due)

    async def forget(self, conn: AsyncConnection, gen: Generation, aggregate_id: UUID) -> None:
        return None
