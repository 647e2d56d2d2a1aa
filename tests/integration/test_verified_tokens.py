"""Access tokens verified once per process: a token seen before skips the signature check, is
never accepted past its expiry nor once its signing key is retired, and is asked about
again (of PostgreSQL) once any revocation was heard of: on every use when no revocation
notices are heard, never when one was heard since it was last asked."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import jwt
import pytest
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from infra.database import prepare_database
from infra.identity.keys import load_key_ring, read_schedule, retire_key, rotate_key
from infra.identity.postgres_stores import AsyncPostgresRevocations, PostgresRevocationStore
from infra.identity.verified_tokens import RECHECK_SECONDS, VerifiedTokens
from infra.postgres.changes import PostgresChanges
from infra.settings import Settings
from tests.waiting import until
from write_side.errors import AuthenticationError
from write_side.identity.tokens import Claims, KeyRing, TokenService

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


class Clock:
    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def pool(database_url: str) -> Iterator[ConnectionPool]:
    prepare_database(Settings(database_url=database_url))
    with ConnectionPool(database_url, min_size=1, max_size=4, kwargs={"autocommit": True}) as p:
        yield p


@pytest.fixture
async def async_pool(database_url: str, pool: ConnectionPool) -> AsyncIterator[AsyncConnectionPool]:
    async with AsyncConnectionPool(
        database_url, min_size=1, max_size=4, kwargs={"autocommit": True}
    ) as p:
        yield p


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    rotate_key(tmp_path)
    return tmp_path


class CountedRevocations(AsyncPostgresRevocations):
    """The real store, counting how often it is asked."""

    asked = 0

    async def is_revoked(self, jti: str, subject: str, issued_at: float) -> bool:
        self.asked += 1
        return await super().is_revoked(jti, subject, issued_at)


def verified(
    pool: ConnectionPool,
    async_pool: AsyncConnectionPool,
    keys: Path,
    clock: Clock,
    capacity: int = 100,
    notices: PostgresChanges | None = None,
) -> tuple[TokenService, VerifiedTokens]:
    def ring() -> KeyRing:  # the folder as it is now (KeyFolder rereads it every 5 s)
        return load_key_ring(keys, clock.now)

    # The process's own revocations are told to the notices at once, as in the API.
    store = PostgresRevocationStore(pool, notices.revoked_here if notices else None)
    tokens = TokenService(ring, store, clock=clock)
    revocations = CountedRevocations(async_pool)
    return tokens, VerifiedTokens(tokens, ring, revocations, capacity, clock, notices)


def asked(cache: VerifiedTokens) -> int:
    revocations = cache._revocations
    assert isinstance(revocations, CountedRevocations)
    return revocations.asked


async def refused_once_heard(
    changes: PostgresChanges, cache: VerifiedTokens, access: str, revoke: Callable[[], object]
) -> None:
    """`revoke()`; once a revocation is heard of, the token is refused."""
    heard = changes.revocations_heard()
    revoke()
    await until(lambda: changes.revocations_heard() != heard)
    with pytest.raises(AuthenticationError):
        await cache.claims(access)


async def test_a_revoked_token_is_refused_on_its_next_use(
    pool: ConnectionPool, async_pool: AsyncConnectionPool, keys: Path
) -> None:
    tokens, cache = verified(pool, async_pool, keys, Clock())
    user = uuid.uuid4()
    access = tokens.issue(user).access_token
    first = await cache.claims(access)
    assert first.user_id == user
    assert (await cache.claims(access)) == first  # served from the cache
    tokens.revoke_session(first, None)
    with pytest.raises(AuthenticationError):
        await cache.claims(access)


async def test_every_token_of_a_user_cut_off_is_refused_at_once(
    pool: ConnectionPool, async_pool: AsyncConnectionPool, keys: Path
) -> None:
    clock = Clock()
    tokens, cache = verified(pool, async_pool, keys, clock)
    user, other = uuid.uuid4(), uuid.uuid4()
    mine, theirs = tokens.issue(user).access_token, tokens.issue(other).access_token
    await cache.claims(mine)
    await cache.claims(theirs)
    clock.now += 1
    tokens.revoke_everything_of(user)
    with pytest.raises(AuthenticationError):
        await cache.claims(mine)
    assert (await cache.claims(theirs)).user_id == other


async def test_a_cached_token_is_not_accepted_past_its_expiry(
    pool: ConnectionPool, async_pool: AsyncConnectionPool, keys: Path
) -> None:
    clock = Clock(time.time() - 3600)  # the token expired long ago, by the real clock too
    tokens, cache = verified(pool, async_pool, keys, clock)
    access = tokens.issue(uuid.uuid4()).access_token
    payload = jwt.decode(access, options={"verify_signature": False})
    claims = Claims(uuid.UUID(payload["sub"]), payload["jti"], payload["iat"], payload["exp"])
    cache._keep(access, claims)  # as if verified while it was valid
    clock.now = claims.expires_at - 1
    assert await cache.claims(access) == claims
    clock.now = claims.expires_at  # from its expiry on, verified in full: refused
    with pytest.raises(AuthenticationError):
        await cache.claims(access)


async def test_a_token_whose_key_was_retired_is_refused(
    pool: ConnectionPool, async_pool: AsyncConnectionPool, keys: Path
) -> None:
    clock = Clock()
    tokens, cache = verified(pool, async_pool, keys, clock)
    access = tokens.issue(uuid.uuid4()).access_token
    await cache.claims(access)
    ((old, _),) = read_schedule(keys)
    rotate_key(keys)
    clock.now += 1
    retire_key(keys, old, now=clock.now)
    with pytest.raises(AuthenticationError):
        await cache.claims(access)


async def test_the_cache_stays_within_its_capacity(
    pool: ConnectionPool, async_pool: AsyncConnectionPool, keys: Path
) -> None:
    tokens, cache = verified(pool, async_pool, keys, Clock(), capacity=3)
    issued = [tokens.issue(uuid.uuid4()).access_token for _ in range(5)]
    for access in issued:
        await cache.claims(access)
    assert len(cache._verified) == 3
    assert list(cache._verified) == issued[2:]  # the oldest went first
    assert (await cache.claims(issued[0])).user_id  # verified again, in full


async def test_without_notices_every_use_asks_whether_the_token_was_revoked(
    pool: ConnectionPool, async_pool: AsyncConnectionPool, keys: Path
) -> None:
    tokens, cache = verified(pool, async_pool, keys, Clock())
    access = tokens.issue(uuid.uuid4()).access_token
    await cache.claims(access)  # verified in full (its revocation asked on the way)
    for _ in range(3):
        await cache.claims(access)
    assert asked(cache) == 3


async def test_with_notices_a_token_is_asked_about_again_only_after_a_revocation(
    pool: ConnectionPool, async_pool: AsyncConnectionPool, keys: Path, changes: PostgresChanges
) -> None:
    clock = Clock()
    tokens, cache = verified(pool, async_pool, keys, clock, notices=changes)
    user, other = uuid.uuid4(), uuid.uuid4()
    mine, theirs = tokens.issue(user).access_token, tokens.issue(other).access_token
    await cache.claims(mine)
    await cache.claims(theirs)
    for _ in range(3):
        await cache.claims(mine)
        await cache.claims(theirs)
    assert asked(cache) == 0  # nothing was revoked since they were verified

    # A logout by another process: heard of by its notice.
    other_process = TokenService(
        lambda: load_key_ring(keys, clock.now), PostgresRevocationStore(pool), clock=clock
    )
    claims = await cache.claims(mine)
    await refused_once_heard(
        changes, cache, mine, lambda: other_process.revoke_session(claims, None)
    )
    assert (await cache.claims(theirs)).user_id == other  # asked again: not revoked
    before = asked(cache)
    await cache.claims(theirs)
    assert asked(cache) == before  # and not again until the next revocation


async def test_a_revocation_by_this_process_refuses_the_token_on_its_very_next_use(
    pool: ConnectionPool, async_pool: AsyncConnectionPool, keys: Path, changes: PostgresChanges
) -> None:
    """No wait for the notice: nothing is awaited between the logout and the next use."""
    tokens, cache = verified(pool, async_pool, keys, Clock(), notices=changes)
    access = tokens.issue(uuid.uuid4()).access_token
    claims = await cache.claims(access)
    tokens.revoke_session(claims, None)
    with pytest.raises(AuthenticationError):
        await cache.claims(access)


async def test_a_cut_off_heard_of_refuses_every_token_of_the_user(
    pool: ConnectionPool, async_pool: AsyncConnectionPool, keys: Path, changes: PostgresChanges
) -> None:
    clock = Clock()
    tokens, cache = verified(pool, async_pool, keys, clock, notices=changes)
    user = uuid.uuid4()
    access = tokens.issue(user).access_token
    await cache.claims(access)
    clock.now += 1
    await refused_once_heard(changes, cache, access, lambda: tokens.revoke_everything_of(user))


async def test_a_cut_off_projected_from_an_event_is_heard_of(
    pool: ConnectionPool, async_pool: AsyncConnectionPool, keys: Path, changes: PostgresChanges
) -> None:
    """The credentials projection's table sends the notice too (its trigger is made with
    the table), whoever writes it."""
    from infra.postgres.projections.credential_tables import CredentialTables
    from infra.postgres.projections.names import LIVE

    with pool.connection() as conn:  # as a rebuild makes it anew
        conn.execute("DROP TABLE credential_cutoffs")
        for statement in CredentialTables().create(LIVE):
            conn.execute(statement)
    clock = Clock()
    tokens, cache = verified(pool, async_pool, keys, clock, notices=changes)
    user = uuid.uuid4()
    access = tokens.issue(user).access_token
    await cache.claims(access)

    def cut_off() -> None:
        with pool.connection() as conn:
            conn.execute(
                "INSERT INTO credential_cutoffs (user_id, version, revoked_before)"
                " VALUES (%s, 1, %s)",
                (user, clock.now + 1),
            )

    await refused_once_heard(changes, cache, access, cut_off)


async def test_a_token_found_unrevoked_is_asked_about_again_after_a_while(
    pool: ConnectionPool, async_pool: AsyncConnectionPool, keys: Path, changes: PostgresChanges
) -> None:
    """In case notices were lost without the listener knowing."""
    clock = Clock()
    tokens, cache = verified(pool, async_pool, keys, clock, notices=changes)
    access = tokens.issue(uuid.uuid4()).access_token
    await cache.claims(access)
    clock.now += RECHECK_SECONDS - 0.5
    await cache.claims(access)
    assert asked(cache) == 0
    clock.now += 1
    await cache.claims(access)
    assert asked(cache) == 1


async def test_while_notices_are_not_heard_every_use_asks(
    pool: ConnectionPool,
    async_pool: AsyncConnectionPool,
    keys: Path,
    changes: PostgresChanges,
    database_url: str,
) -> None:
    tokens, cache = verified(pool, async_pool, keys, Clock(), notices=changes)
    access = tokens.issue(uuid.uuid4()).access_token
    await cache.claims(access)
    with pool.connection() as conn:  # the listening connection is cut
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN%%'"
        )
    await until(lambda: not changes.listening)
    await cache.claims(access)
    await cache.claims(access)
    assert asked(cache) == 2
    await until(lambda: changes.listening)  # back: what was missed meanwhile is unknown
    await cache.claims(access)
    await cache.claims(access)
    assert asked(cache) == 3


async def test_uses_of_one_token_found_due_at_once_share_one_question(
    pool: ConnectionPool, async_pool: AsyncConnectionPool, keys: Path, changes: PostgresChanges
) -> None:
    """Under load every request in flight finds the token due at the same moment: they ask
    once, and all take that answer (unrevoked, then revoked)."""
    clock = Clock()
    tokens, cache = verified(pool, async_pool, keys, clock, notices=changes)
    user = uuid.uuid4()
    issued = tokens.issue(user)
    await cache.claims(issued.access_token)
    clock.now += RECHECK_SECONDS + 1
    found = await asyncio.gather(*(cache.claims(issued.access_token) for _ in range(20)))
    assert {claims.jti for claims in found} == {found[0].jti}
    assert asked(cache) == 1

    tokens.revoke_everything_of(user)  # counted as heard at once: this process wrote it
    refused = await asyncio.gather(
        *(cache.claims(issued.access_token) for _ in range(20)), return_exceptions=True
    )
    assert all(isinstance(error, AuthenticationError) for error in refused)
    assert asked(cache) == 2
