"""The contracts of the revocation store and rate limiter ports (subclassed per adapter)."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from write_side.identity.ports import Issue, RateLimiter, RevocationStore

NO_GRACE = 0.0


def _id() -> str:
    return uuid.uuid4().hex


def _issue(at: float | None = None) -> Issue:
    return Issue(_id(), _id(), time.time() if at is None else at)


class RevocationStoreContract:
    """Subclasses provide a `revocations` fixture yielding an empty adapter."""

    def test_a_revoked_token_is_revoked_and_others_are_not(
        self, revocations: RevocationStore
    ) -> None:
        jti, other, subject = _id(), _id(), _id()
        revocations.revoke_token(jti, 60)
        assert revocations.is_revoked(jti, subject, time.time())
        assert not revocations.is_revoked(other, subject, time.time())

    def test_a_single_use_token_is_spent_once(self, revocations: RevocationStore) -> None:
        jti, subject = _id(), _id()
        assert revocations.spend_token(jti, 60)
        assert not revocations.spend_token(jti, 60)
        assert revocations.is_revoked(jti, subject, time.time())
        revoked = _id()
        revocations.revoke_token(revoked, 60)
        assert not revocations.spend_token(revoked, 60)

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
        family, first = _id(), _id()
        revocations.start_family(family, first, 60)
        second = _issue()
        assert revocations.rotate_family(family, first, second, 60, NO_GRACE) == second
        third = _issue()
        assert revocations.rotate_family(family, second.refresh_jti, third, 60, NO_GRACE) == third

    def test_reusing_a_spent_member_revokes_the_family(self, revocations: RevocationStore) -> None:
        family, first, second = _id(), _issue(), _issue()
        revocations.start_family(family, first.refresh_jti, 60)
        assert revocations.rotate_family(family, first.refresh_jti, second, 60, NO_GRACE)
        replayed = revocations.rotate_family(family, first.refresh_jti, _issue(), 60, NO_GRACE)
        assert replayed is None
        legit = revocations.rotate_family(family, second.refresh_jti, _issue(), 60, NO_GRACE)
        assert legit is None  # the legitimate holder's token died with the family

    def test_within_the_grace_window_the_replaced_member_gets_the_same_issue(
        self, revocations: RevocationStore
    ) -> None:
        family, first, second = _id(), _issue(), _issue()
        revocations.start_family(family, first.refresh_jti, 60)
        assert revocations.rotate_family(family, first.refresh_jti, second, 60, 10) == second
        # The reply was lost; the client presents the first token again, 3 s later.
        retry = _issue(at=second.issued_at + 3)
        assert revocations.rotate_family(family, first.refresh_jti, retry, 60, 10) == second
        # The family lives on: the second token rotates as usual.
        third = _issue()
        assert revocations.rotate_family(family, second.refresh_jti, third, 60, 10) == third

    def test_after_the_grace_window_or_two_rotations_back_reuse_revokes(
        self, revocations: RevocationStore
    ) -> None:
        family, first, second = _id(), _issue(), _issue()
        revocations.start_family(family, first.refresh_jti, 60)
        assert revocations.rotate_family(family, first.refresh_jti, second, 60, 10)
        late = _issue(at=second.issued_at + 11)
        assert revocations.rotate_family(family, first.refresh_jti, late, 60, 10) is None
        assert revocations.rotate_family(family, second.refresh_jti, _issue(), 60, 10) is None

        family, first, second, third = _id(), _issue(), _issue(), _issue()
        revocations.start_family(family, first.refresh_jti, 60)
        assert revocations.rotate_family(family, first.refresh_jti, second, 60, 10)
        assert revocations.rotate_family(family, second.refresh_jti, third, 60, 10)
        assert revocations.rotate_family(family, first.refresh_jti, _issue(), 60, 10) is None

    def test_an_unknown_or_revoked_family_does_not_rotate(
        self, revocations: RevocationStore
    ) -> None:
        assert revocations.rotate_family(_id(), _id(), _issue(), 60, 10) is None
        family, first, second = _id(), _id(), _issue()
        revocations.start_family(family, first, 60)
        assert revocations.rotate_family(family, first, second, 60, 10)
        revocations.revoke_family(family, 60)
        assert revocations.rotate_family(family, first, _issue(), 60, 10) is None  # no grace
        assert revocations.rotate_family(family, second.refresh_jti, _issue(), 60, 10) is None

    def test_concurrent_rotations_of_one_member_let_exactly_one_win(
        self, revocations: RevocationStore
    ) -> None:
        family, first = _id(), _id()
        revocations.start_family(family, first, 60)
        with ThreadPoolExecutor(max_workers=8) as pool:
            wins = list(
                pool.map(
                    lambda _: revocations.rotate_family(family, first, _issue(), 60, NO_GRACE),
                    range(8),
                )
            )
        assert sum(win is not None for win in wins) == 1

    def test_concurrent_retries_within_the_grace_window_all_get_the_one_winner(
        self, revocations: RevocationStore
    ) -> None:
        family, first = _id(), _id()
        revocations.start_family(family, first, 60)
        with ThreadPoolExecutor(max_workers=8) as pool:
            granted = list(
                pool.map(
                    lambda _: revocations.rotate_family(family, first, _issue(), 60, 10), range(8)
                )
            )
        assert None not in granted
        assert len(set(granted)) == 1


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

    def test_a_forgiven_hit_is_not_counted(self, limiter: RateLimiter) -> None:
        key = _id()
        for _ in range(5):
            assert limiter.hit(key, 2, 60) is None
            limiter.forgive(key)
        assert limiter.hit(key, 2, 60) is None
        assert limiter.hit(key, 2, 60) is None
        assert limiter.hit(key, 2, 60) is not None

    def test_forgiving_an_unknown_key_counts_nothing_below_zero(self, limiter: RateLimiter) -> None:
        key = _id()
        limiter.forgive(key)
        assert limiter.hit(key, 1, 60) is None
        assert limiter.hit(key, 1, 60) is not None
