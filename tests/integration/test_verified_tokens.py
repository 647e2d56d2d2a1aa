"""Access tokens verified once per process: a token seen before skips the signature check, but
never the revocation check (asked of PostgreSQL on every use), never past its expiry, and
never once its signing key is retired."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import jwt
import pytest
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from infra.database import prepare_database
from infra.identity.keys import load_key_ring, read_schedule, retire_key, rotate_key
from infra.identity.postgres_stores import AsyncPostgresRevocations, PostgresRevocationStore
from infra.identity.verified_tokens import VerifiedTokens
from infra.settings import Settings
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


def verified(
    pool: ConnectionPool,
    async_pool: AsyncConnectionPool,
    keys: Path,
    clock: Clock,
    capacity: int = 100,
) -> tuple[TokenService, VerifiedTokens]:
    def ring() -> KeyRing:  # the folder as it is now (KeyFolder rereads it every 5 s)
        return load_key_ring(keys, clock.now)

    tokens = TokenService(ring, PostgresRevocationStore(pool), clock=clock)
    revocations = AsyncPostgresRevocations(async_pool)
    return tokens, VerifiedTokens(tokens, ring, revocations, capacity, clock)


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
