"""The sync log on PostgreSQL (tables of migration 009), for the write side's sync service:
blocking calls, on the API's synchronous pool (autocommit: each call is one statement or
one short transaction)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from write_side.sync.changes import Outcome, Resolution

_COLUMNS = [
    "status",
    "entity_type",
    "entity_id",
    "action",
    "mutation_id",
    "server_timestamp",
    "trip_id",
    "version",
    "code",
    "message",
    "conflict_id",
    "fields",
    "client_data",
    "server_data",
    "extra",
]
_OUTCOME = ", ".join(_COLUMNS)
_LOGGED = ", ".join(f"l.{column}" for column in _COLUMNS)


class PostgresSyncLog:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def first_outcome(
        self, user_id: UUID, client_id: str, mutation_id: str
    ) -> tuple[Outcome, str] | None:
        with self._pool.connection() as conn:
            row = (
                conn.cursor(row_factory=dict_row)
                .execute(
                    f"SELECT {_OUTCOME}, fingerprint FROM sync_log"
                    " WHERE user_id = %s AND client_id = %s AND mutation_id = %s",
                    (user_id, client_id, mutation_id),
                )
                .fetchone()
            )
        return None if row is None else (outcome_of(row), row["fingerprint"])

    def record(self, user_id: UUID, client_id: str, outcome: Outcome, fingerprint: str) -> Outcome:
        o = outcome
        with self._pool.connection() as conn, conn.transaction():
            stored = conn.execute(
                "INSERT INTO sync_log (user_id, client_id, mutation_id, fingerprint, entity_type,"
                " entity_id, action, status, trip_id, version, code, message, conflict_id,"
                " fields, client_data, server_data, extra, server_timestamp)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (user_id, client_id, mutation_id) WHERE mutation_id IS NOT NULL"
                " DO NOTHING RETURNING id",
                (
                    user_id,
                    client_id,
                    o.mutation_id,
                    fingerprint,
                    o.entity_type,
                    o.entity_id,
                    o.action,
                    o.status,
                    o.trip_id,
                    o.version,
                    o.code,
                    o.message,
                    o.conflict_id,
                    list(o.fields),
                    None if o.client_data is None else Jsonb(o.client_data),
                    None if o.server_data is None else Jsonb(o.server_data),
                    Jsonb(o.extra),
                    o.server_timestamp,
                ),
            ).fetchone()
            conn.execute(
                "INSERT INTO sync_clients (user_id, client_id, last_push_at) VALUES (%s, %s, now())"
                " ON CONFLICT (user_id, client_id) DO UPDATE SET last_push_at = now()",
                (user_id, client_id),
            )
        if stored is not None or o.mutation_id is None:
            return outcome
        first = self.first_outcome(user_id, client_id, o.mutation_id)
        assert first is not None, "a row kept under this mutation id is never deleted"
        return Outcome(**{**first[0].__dict__, "replayed": True})

    def conflict(self, conflict_id: UUID) -> tuple[UUID, str, Outcome, Resolution | None] | None:
        with self._pool.connection() as conn:
            row = (
                conn.cursor(row_factory=dict_row)
                .execute(
                    f"SELECT l.user_id, l.client_id, {_LOGGED}, r.resolution_strategy,"
                    " r.resolved_by, r.resolved_at, r.version AS resolved_version FROM sync_log l"
                    " LEFT JOIN sync_conflict_resolutions r ON r.conflict_id = l.conflict_id"
                    " WHERE l.conflict_id = %s",
                    (conflict_id,),
                )
                .fetchone()
            )
        if row is None:
            return None
        resolution = None
        if row["resolution_strategy"] is not None:
            resolution = Resolution(
                conflict_id,
                row["resolution_strategy"],
                row["resolved_by"],
                row["resolved_at"],
                row["resolved_version"],
            )
        return row["user_id"], row["client_id"], outcome_of(row), resolution

    def resolve(self, resolution: Resolution) -> Resolution:
        r = resolution
        with self._pool.connection() as conn, conn.transaction():
            stored = conn.execute(
                "INSERT INTO sync_conflict_resolutions (conflict_id, resolution_strategy,"
                " resolved_by, resolved_at, version) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (conflict_id) DO NOTHING RETURNING conflict_id",
                (r.conflict_id, r.strategy, r.resolved_by, r.resolved_at, r.version),
            ).fetchone()
            conn.execute(
                "UPDATE sync_log SET resolved = true WHERE conflict_id = %s", (r.conflict_id,)
            )
        if stored is not None:
            return resolution
        found = self.conflict(r.conflict_id)
        assert found is not None and found[3] is not None
        return Resolution(**{**found[3].__dict__, "replayed": True})


def outcome_of(row: dict[str, Any]) -> Outcome:
    return Outcome(
        status=row["status"],
        entity_type=row["entity_type"],
        entity_id=row["entity_id"],
        action=row["action"],
        mutation_id=row["mutation_id"],
        server_timestamp=row["server_timestamp"],
        trip_id=row["trip_id"],
        version=row["version"],
        code=row["code"],
        message=row["message"],
        conflict_id=row["conflict_id"],
        fields=tuple(row["fields"]),
        client_data=row["client_data"],
        server_data=row["server_data"],
        extra=row["extra"],
    )
