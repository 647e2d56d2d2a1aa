"""Idempotency keys on PostgreSQL: the first response of each (user, key), kept 24 hours."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from psycopg_pool import ConnectionPool

RETENTION = "24 hours"


@dataclass(frozen=True)
class Recorded:
    fingerprint: str
    status_code: int | None  # None: the first request is still running
    body: bytes | None
    etag: str | None


class PostgresIdempotencyStore:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def claim(self, user_id: UUID, key: str, fingerprint: str) -> Recorded | None:
        """Claim the key for a new request (None), or return what was recorded under it."""
        with self._pool.connection() as conn:
            conn.execute(
                "DELETE FROM idempotency_keys WHERE user_id = %s AND key = %s"
                f" AND created_at < now() - interval '{RETENTION}'",
                (user_id, key),
            )
            claimed = conn.execute(
                "INSERT INTO idempotency_keys (user_id, key, fingerprint) VALUES (%s, %s, %s)"
                " ON CONFLICT (user_id, key) DO NOTHING RETURNING 1",
                (user_id, key, fingerprint),
            ).fetchone()
            if claimed:
                return None
            row = conn.execute(
                "SELECT fingerprint, status_code, body, etag FROM idempotency_keys"
                " WHERE user_id = %s AND key = %s",
                (user_id, key),
            ).fetchone()
        if row is None:  # expired and removed between the two statements: claim again
            return self.claim(user_id, key, fingerprint)
        return Recorded(row[0], row[1], None if row[2] is None else bytes(row[2]), row[3])

    def complete(
        self, user_id: UUID, key: str, status_code: int, body: bytes, etag: str | None
    ) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "UPDATE idempotency_keys SET status_code = %s, body = %s, etag = %s"
                " WHERE user_id = %s AND key = %s",
                (status_code, body, etag, user_id, key),
            )

    def release(self, user_id: UUID, key: str) -> None:
        """The request failed: the key is free for a retry."""
        with self._pool.connection() as conn:
            conn.execute(
                "DELETE FROM idempotency_keys WHERE user_id = %s AND key = %s", (user_id, key)
            )

    def purge_expired(self) -> int:
        with self._pool.connection() as conn:
            cursor = conn.execute(
                f"DELETE FROM idempotency_keys WHERE created_at < now() - interval '{RETENTION}'"
            )
            return cursor.rowcount
