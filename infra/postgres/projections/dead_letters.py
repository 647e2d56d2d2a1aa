"""Operating dead letters: list and show them, retry a parked aggregate (its events are read
again from the event store), or skip the event that failed (recorded, with who skipped it;
the aggregate's state is then rebuilt from its other events, so it is never wrong, only
missing what was skipped). Every retry and skip is recorded in `projection_operations`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from infra.postgres.projections.names import LIVE, dead_letters_table, tracking_table
from infra.postgres.projections.schema import ProjectionSchema
from projections.engine.applier import Applier, Failure
from projections.engine.ports import EventSource
from projections.engine.projection import Projection


class DeadLetterError(LookupError):
    pass


@dataclass(frozen=True)
class DeadLetterRow:
    id: int
    projection: str
    aggregate_id: UUID
    aggregate_version: int | None
    event_type: str
    error: str
    attempts: int
    failed: bool
    parked_at: datetime
    payload: bytes = b""


@dataclass(frozen=True)
class Resolution:
    projection: str
    aggregate_id: UUID
    failure: Failure | None  # None: the aggregate flows again


class DeadLetters:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        units: list[tuple[Projection[Any], ProjectionSchema[Any]]],
        source: EventSource,
    ) -> None:
        self._pool = pool
        self._units = {projection.name: (projection, schema) for projection, schema in units}
        self._source = source

    async def entries(self) -> list[DeadLetterRow]:
        return await self._select("", ())

    async def show(self, letter_id: int) -> DeadLetterRow:
        found = await self._select("WHERE id = %s", (letter_id,), payload=True)
        if not found:
            raise DeadLetterError(f"no dead letter {letter_id}")
        return found[0]

    async def retry(self, letter_id: int, actor: str) -> Resolution:
        letter = await self.show(letter_id)
        return await self._replay(letter.projection, letter.aggregate_id, actor, "retry")

    async def retry_all(self, actor: str) -> list[Resolution]:
        resolutions = []
        for name in self._units:
            for aggregate_id in await self._parked(name):
                resolutions.append(await self._replay(name, aggregate_id, actor, "retry"))
        return resolutions

    async def skip(self, letter_id: int, actor: str, reason: str) -> Resolution:
        letter = await self.show(letter_id)
        if not letter.failed or letter.aggregate_version is None:
            raise DeadLetterError(
                f"dead letter {letter_id} is not an event that failed"
                " (it waits behind one, or has no version): skip the failed one, or retry"
            )
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO projection_skips (projection, aggregate_id, aggregate_version,"
                " skipped_by, reason) VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (letter.projection, letter.aggregate_id, letter.aggregate_version, actor, reason),
            )
        detail = f"skipped {letter.event_type} v{letter.aggregate_version}: {reason}"
        return await self._replay(
            letter.projection, letter.aggregate_id, actor, "skip", detail, from_scratch=True
        )

    async def _replay(
        self,
        name: str,
        aggregate_id: UUID,
        actor: str,
        action: str,
        detail: str = "",
        *,
        from_scratch: bool = False,
    ) -> Resolution:
        projection, schema = self._units[name]
        store = schema.store()
        applier = Applier(projection, store, self._source, skipped=await schema.skipped())
        async with store.batch() as batch:
            failure = await applier.replay(aggregate_id, batch, from_scratch=from_scratch)
        outcome = "flows again" if failure is None else f"still fails: {failure.error}"
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO projection_operations (projection, action, aggregate_id, detail,"
                " actor) VALUES (%s, %s, %s, %s, %s)",
                (name, action, aggregate_id, f"{detail}; {outcome}".lstrip("; "), actor),
            )
        return Resolution(name, aggregate_id, failure)

    async def _parked(self, name: str) -> list[UUID]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                sql.SQL("SELECT aggregate_id FROM {} WHERE parked ORDER BY aggregate_id").format(
                    LIVE.table(tracking_table(name))
                )
            )
            return [row[0] for row in await cursor.fetchall()]

    async def _select(
        self, where: str, params: tuple[Any, ...], *, payload: bool = False
    ) -> list[DeadLetterRow]:
        columns = (
            "id, aggregate_id, aggregate_version, event_type, error, attempts, failed, parked_at"
            + (", payload" if payload else "")
        )
        found = []
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            for name in self._units:
                await cursor.execute(
                    sql.SQL(f"SELECT {columns} FROM {{}} {where} ORDER BY id").format(
                        LIVE.table(dead_letters_table(name))
                    ),
                    params,
                )
                for row in await cursor.fetchall():
                    if payload:
                        row["payload"] = bytes(row["payload"])
                    found.append(DeadLetterRow(projection=name, **row))
        return sorted(found, key=lambda letter: letter.id)
