"""The revocation store on PostgreSQL: the port's contract, and the credentials projection's
cut-off (projected from the user's own events) honoured by the same check."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from psycopg_pool import ConnectionPool

from infra.database import prepare_database
from infra.identity.postgres_stores import PostgresRevocationStore
from infra.settings import Settings
from tests.contracts.security_stores import RevocationStoreContract

pytestmark = pytest.mark.integration


@pytest.fixture
def pool(database_url: str) -> Iterator[ConnectionPool]:
    prepare_database(Settings(database_url=database_url))
    with ConnectionPool(database_url, min_size=1, max_size=8, kwargs={"autocommit": True}) as p:
        yield p


class TestPostgresRevocationStore(RevocationStoreContract):
    @pytest.fixture
    def revocations(self, pool: ConnectionPool) -> PostgresRevocationStore:
        return PostgresRevocationStore(pool)


def test_a_projected_credentials_change_revokes_older_tokens(pool: ConnectionPool) -> None:
    revocations = PostgresRevocationStore(pool)
    user, other = uuid.uuid4(), uuid.uuid4()
    changed = datetime.now(UTC).timestamp()
    with pool.connection() as conn:
        conn.execute(
            "INSERT INTO credential_cutoffs (user_id, version, revoked_before) VALUES (%s, 3, %s)",
            (user, changed),
        )
    assert revocations.is_revoked(uuid.uuid4().hex, str(user), changed - 60)
    assert not revocations.is_revoked(uuid.uuid4().hex, str(user), changed + 0.001)
    assert not revocations.is_revoked(uuid.uuid4().hex, str(other), changed - 60)


def test_expired_revocations_are_purged_as_sessions_start(pool: ConnectionPool) -> None:
    revocations = PostgresRevocationStore(pool)
    revocations.revoke_token(uuid.uuid4().hex, 1)
    revocations.revoke_subject_before(uuid.uuid4().hex, time.time(), 1)
    revocations.revoke_family(uuid.uuid4().hex, 1)
    time.sleep(1.2)
    revocations.start_family(uuid.uuid4().hex, uuid.uuid4().hex, 60)
    with pool.connection() as conn:
        left = [
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            for table in ("revoked_tokens", "revoked_subjects", "token_families")
        ]
    assert left == [(0,), (0,), (1,)]
