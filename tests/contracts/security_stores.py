"""The contracts of the revocation store and rate limiter ports (subclassed per adapter)."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from write_side.identity.ports import RateLimiter, RevocationStore


def _id() -> str:
    return uuid.uuid4().hex


class RevocationStoreContract:
    """Subclasses provide a `revocations` fixture yielding an empty adapter."""

    def test_a_revoked_token_is_revoked_and_others_are_not(
        self, revocations: RevocationStore
    ) -> None:
        jti, other, subject = _id(), _id(), _id()
        revocations.revoke_token(jti, 60)
        assert revocations.is_revoked(jti, subject, time.time())
        assert not revocations.is_revoked(other, subject, time.time())

    def test_revocations_expire(self, revocations: RevocationStore) -> None:
        jti = _id()
        revocations.revoke_token(jti, 1)
        time.sleep(1.2)
        assert not revocations.is_revoked(jti, _id(), time.time())

    def test_a_subject_revoked_before_an_instant(self, revocations: RevocationStore) -> None:
        subject = _id()
        cut = time.time()
        revocations.revoke_subject_before(subject, cut, 60)
        assert revocations.is_revoked(_id(), subject, cut - 1)
        assert not revocations.is_revoked(_id(), subject, cut + 0.001)
        assert not revocations.is_revoked(_id(), _id(), cut - 1)

    def test_a_family_rotates_once_per_member(self, revocations: RevocationStore) -> None:
        family, first, second, third = _id(), _id(), _id(), _id()
        revocations.start_family(family, first, 60)
        assert revocations.rotate_family(family, first, second, 60)
        assert revocations.rotate_family(family, second, third, 60)

    def test_reusing_a_spent_member_revokes_the_family(self, revocations: RevocationStore) -> None:
        family, first, second, third = _id(), _id(), _id(), _id()
        revocations.start_family(family, first, 60)
        assert revocations.rotate_family(family, first, second, 60)
        assert not revocations.rotate_family(family, first, _id(), 60)  # replayed
        assert not revocations.rotate_family(family, second, third, 60)  # legit one is dead too

    def test_an_unknown_or_revoked_family_does_not_rotate(
        self, revocations: RevocationStore
    ) -> None:
        assert not revocations.rotate_family(_id(), _id(), _id(), 60)
        family, first = _id(), _id()
        revocations.start_family(family, first, 60)
        revocations.revoke_family(family, 60)
        assert not revocations.rotate_family(family, first, _id(), 60)

    def test_concurrent_rotations_of_one_member_let_exactly_one_win(
        self, revocations: RevocationStore
    ) -> None:
        family, first = _id(), _id()
        revocations.start_family(family, first, 60)
        with ThreadPoolExecutor(max_workers=8) as pool:
            wins = list(
                pool.map(lambda _: revocations.rotate_family(family, first, _id(), 60), range(8))
            )
        assert wins.count(True) == 1


class RateLimiterContract:
    """Subclasses provide a `limiter` fixture yielding an empty adapter."""

    def test_hits_within_the_limit_pass_and_the_next_waits(self, limiter: RateLimiter) -> None:
        key = _id()
        assert [limiter.hit(key, 3, 60) for _ in range(3)] == [None, None, None]
        wait = limiter.hit(key, 3, 60)
        assert wait is not None and 0 < wait <= 60

    def test_keys_are_counted_apart(self, limiter: RateLimiter) -> None:
        first, second = _id(), _id()
        assert limiter.hit(first, 1, 60) is None
        assert limiter.hit(first, 1, 60) is not None
        assert limiter.hit(second, 1, 60) is None

    def test_a_new_window_starts_afresh(self, limiter: RateLimiter) -> None:
        key = _id()
        assert limiter.hit(key, 1, 1) is None
        assert limiter.hit(key, 1, 1) is not None
        time.sleep(1.2)
        assert limiter.hit(key, 1, 1) is None

    def test_concurrent_hits_are_all_counted(self, limiter: RateLimiter) -> None:
        key = _id()
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda _: limiter.hit(key, 10, 60), range(40)))
        assert sum(r is None for r in results) == 10
