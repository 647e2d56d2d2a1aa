"""Projections whose state is what a batch calls for, done by an effect: chat announcements
(system messages) and the notifier (notices to inboxes). They keep no table of their own,
only the engine's tracking and dead letters.

Storing a batch means carrying out its items; the batch commits after they were done, so a
crash in between does them again, and each item's key (the event it comes from) makes the
second time a no-op where it lands (the command record, the inbox). A rebuild replays history
without doing anything again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar
from uuid import UUID

from psycopg import AsyncConnection, sql

from infra.postgres.projections.names import LIVE, Generation
from projections.engine.ports import Change

T = TypeVar("T")
Effect = Callable[[Sequence[T]], Awaitable[None]]


class EffectTables(Generic[T]):
    tables: tuple[str, ...] = ()

    def __init__(self, projection: str, effect: Effect[T] | None = None) -> None:
        self.projection = projection
        self._effect = effect

    def create(self, gen: Generation) -> list[sql.Composed]:
        return []

    def indexes(self, gen: Generation) -> list[sql.Composed]:
        return []

    async def load(
        self, conn: AsyncConnection, gen: Generation, ids: list[UUID]
    ) -> dict[UUID, Any]:
        return {}

    async def save(
        self, conn: AsyncConnection, gen: Generation, changes: Mapping[UUID, Change[Any]]
    ) -> None:
        if gen != LIVE:
            return
        due: list[T] = [item for c in changes.values() if c.state for item in c.state["new"]]
        if not due:
            return
        if self._effect is None:
            raise RuntimeError(f"{self.projection} has nothing to carry out its effects")
        await self._effect(due)

    async def forget(self, conn: AsyncConnection, gen: Generation, aggregate_id: UUID) -> None:
        return None
