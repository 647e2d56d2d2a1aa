"""The revocation store on PostgreSQL: durable and shared by every process, in every mode.

A token is revoked when its id was revoked (logout), when its subject's tokens were cut off
before its issue (password change, deactivation: written right after the event commits, and
also projected from the event by the credentials projection, so the cut-off cannot be lost),
or when its refresh family was revoked (reuse detected, logout). When PostgreSQL does not
answer, `DependencyUnavailableError` is raised: a token is never accepted on a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout

from infra.postgres.projections.credential_tables import TABLE as CREDENTIAL_CUTOFFS
from write_side.errors import DependencyUnavailableError
from write_side.identity.ports import Issue

_PURGE_BATCH = 100

_IS_REVOKED = (
    sql.SQL(
        "SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = %(jti)s AND expires_at > now())"
        " OR EXISTS (SELECT 1 FROM revoked_subjects WHERE subject = %(subject)s"
        "            AND %(issued_at)s < issued_before AND expires_at > now())"
        " OR EXISTS (SELECT 1 FROM {} WHERE user_id = %(user_id)s"
        "            AND %(issued_at)s < revoked_before)"
    )
    .format(sql.Identifier(CREDENTIAL_CUTOFFS))
    .as_bytes(None)
)  # rendered once, not per request


def _user_id(subject: str) -> UUID | None:
    try:
        return UUID(subject)
    except ValueError:
        return None


class AsyncPostgresRevocations:
    """`PostgresRevocationStore.is_revoked` on the API's async pool: the check every request
    makes, without a thread hop."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def is_revoked(self, jti: str, subject: str, issued_at: float) -> bool:
        params = {"jti": jti, "subject": subject, "issued_at": issued_at}
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(_IS_REVOKED, {**params, "user_id": _user_id(subject)})
                row = await cursor.fetchone()
        except (psycopg.OperationalError, PoolTimeout) as error:
            raise DependencyUnavailableError("postgresql") from error
        assert row is not None
        return bool(row[0])


class PostgresRevocationStore:
    def __init__(self, pool: ConnectionPool, on_revoked: Callable[[], None] | None = None) -> None:
        self._pool = pool
        self._on_revoked = on_revoked  # told once an access token's revocation is written

    def _revoked(self) -> None:
        if self._on_revoked is not None:
            self._on_revoked()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as error:
            raise DependencyUnavailableError("postgresql") from error

    def revoke_token(self, jti: str, ttl_seconds: int) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT INTO revoked_tokens (jti, expires_at)"
                " VALUES (%s, now() + make_interval(secs => %s))"
                " ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at",
                (jti, ttl_seconds),
            )
        self._revoked()

    def spend_token(self, jti: str, ttl_seconds: int) -> bool:
        with self._connection() as conn:
            cursor = conn.execute(
                "INSERT INTO revoked_tokens (jti, expires_at)"
                " VALUES (%s, now() + make_interval(secs => %s))"
                " ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at"
                " WHERE revoked_tokens.expires_at <= now() RETURNING jti",
                (jti, ttl_seconds),
            )
            return cursor.fetchone() is not None

    def revoke_subject_before(self, subject: str, issued_before: float, ttl_seconds: int) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT INTO revoked_subjects (subject, issued_before, expires_at)"
                " VALUES (%s, %s, now() + make_interval(secs => %s))"
                " ON CONFLICT (subject) DO UPDATE SET"
                " issued_before = greatest(revoked_subjects.issued_before, excluded.issued_before),"
                " expires_at = excluded.expires_at",
                (subject, issued_before, ttl_seconds),
            )
        self._revoked()

    def is_revoked(self, jti: str, subject: str, issued_at: float) -> bool:
        params = {"jti": jti, "subject": subject, "issued_at": issued_at}
        with self._connection() as conn:
            row = conn.execute(_IS_REVOKED, {**params, "user_id": _user_id(subject)}).fetchone()
        assert row is not None
        return bool(row[0])

    def start_family(self, family: str, jti: str, ttl_seconds: int) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT INTO token_families (family, current_jti, expires_at)"
                " VALUES (%s, %s, now() + make_interval(secs => %s))",
                (family, jti, ttl_seconds),
            )
            self._purge_expired(conn)

    def rotate_family(
        self, family: str, presented: str, successor: Issue, ttl_seconds: int, grace_seconds: float
    ) -> Issue | None:
        with self._connection() as conn, conn.transaction():
            row = conn.execute(
                "SELECT current_jti, previous_jti, issue_access_jti, issued_at, revoked"
                " FROM token_families WHERE family = %s AND expires_at > now() FOR UPDATE",
                (family,),
            ).fetchone()
            if row is not None and not row[4]:
                current, previous, access_jti, issued_at = row[:4]
                if current == presented:
                    conn.execute(
                        "UPDATE token_families SET current_jti = %s, previous_jti = %s,"
                        " issue_access_jti = %s, issued_at = %s,"
                        " expires_at = now() + make_interval(secs => %s) WHERE family = %s",
                        (
                            successor.refresh_jti,
                            presented,
                            successor.access_jti,
                            successor.issued_at,
                            ttl_seconds,
                            family,
                        ),
                    )
                    return successor
                if (
                    previous == presented
                    and issued_at is not None
                    and grace_seconds > 0
                    and successor.issued_at - issued_at <= grace_seconds
                ):
                    return Issue(refresh_jti=current, access_jti=access_jti, issued_at=issued_at)
            self._revoke_family(conn, family, ttl_seconds)
            return None

    def revoke_family(self, family: str, ttl_seconds: int) -> None:
        with self._connection() as conn:
            self._revoke_family(conn, family, ttl_seconds)

    @staticmethod
    def _revoke_family(conn: psycopg.Connection, family: str, ttl_seconds: int) -> None:
        conn.execute(
            "INSERT INTO token_families (family, revoked, expires_at)"
            " VALUES (%s, true, now() + make_interval(secs => %s))"
            " ON CONFLICT (family) DO UPDATE SET revoked = true, current_jti = NULL,"
            " expires_at = excluded.expires_at",
            (family, ttl_seconds),
        )

    @staticmethod
    def _purge_expired(conn: psycopg.Connection) -> None:
        """A few expired rows per new session: the tables stay as small as the live tokens."""
        for table in ("revoked_tokens", "revoked_subjects", "token_families"):
            conn.execute(
                sql.SQL(
                    "DELETE FROM {0} WHERE ctid = ANY(ARRAY("
                    "SELECT ctid FROM {0} WHERE expires_at < now() LIMIT {1}))"
                ).format(sql.Identifier(table), sql.Literal(_PURGE_BATCH))
            )
