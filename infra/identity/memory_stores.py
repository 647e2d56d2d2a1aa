"""In-process revocation store (the fake of unit tests) and rate limiter (embedded mode: one
process, no Redis)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from write_side.identity.ports import Issue


@dataclass(frozen=True)
class _Family:
    current: str | None
    previous: str | None = None
    issue: Issue | None = None  # the issue that replaced `previous`
    revoked: bool = False


class _Expiring:
    """A dict whose entries vanish after their time to live."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[float, object]] = {}

    def get(self, key: str) -> object | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._clock():
            del self._entries[key]
            return None
        return value

    def set(self, key: str, value: object, ttl: float) -> None:
        self._entries[key] = (self._clock() + ttl, value)
        if len(self._entries) > 10_000:
            self._sweep()

    def expiry(self, key: str) -> float | None:
        entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def _sweep(self) -> None:
        now = self._clock()
        for key in [k for k, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[key]


class InMemoryRevocationStore:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._entries = _Expiring(clock)

    def revoke_token(self, jti: str, ttl_seconds: int) -> None:
        with self._lock:
            self._entries.set(f"jti:{jti}", True, ttl_seconds)

    def spend_token(self, jti: str, ttl_seconds: int) -> bool:
        with self._lock:
            if self._entries.get(f"jti:{jti}") is not None:
                return False
            self._entries.set(f"jti:{jti}", True, ttl_seconds)
            return True

    def revoke_subject_before(self, subject: str, issued_before: float, ttl_seconds: int) -> None:
        with self._lock:
            self._entries.set(f"sub:{subject}", issued_before, ttl_seconds)

    def is_revoked(self, jti: str, subject: str, issued_at: float) -> bool:
        with self._lock:
            if self._entries.get(f"jti:{jti}") is not None:
                return True
            before = self._entries.get(f"sub:{subject}")
            return isinstance(before, float) and issued_at < before

    def start_family(self, family: str, jti: str, ttl_seconds: int) -> None:
        with self._lock:
            self._entries.set(f"fam:{family}", _Family(current=jti), ttl_seconds)

    def rotate_family(
        self, family: str, presented: str, successor: Issue, ttl_seconds: int, grace_seconds: float
    ) -> Issue | None:
        with self._lock:
            found = self._entries.get(f"fam:{family}")
            if isinstance(found, _Family) and not found.revoked:
                if found.current == presented:
                    rotated = _Family(successor.refresh_jti, presented, successor)
                    self._entries.set(f"fam:{family}", rotated, ttl_seconds)
                    return successor
                if (
                    found.previous == presented
                    and found.issue is not None
                    and grace_seconds > 0
                    and successor.issued_at - found.issue.issued_at <= grace_seconds
                ):
                    return found.issue
            self._entries.set(f"fam:{family}", _Family(current=None, revoked=True), ttl_seconds)
            return None

    def revoke_family(self, family: str, ttl_seconds: int) -> None:
        with self._lock:
            self._entries.set(f"fam:{family}", _Family(current=None, revoked=True), ttl_seconds)


class InMemoryRateLimiter:
    """Fixed windows: at most `limit` hits per key per window."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries = _Expiring(clock)

    def hit(self, key: str, limit: int, window_seconds: int) -> float | None:
        with self._lock:
            count = self._entries.get(key)
            if not isinstance(count, int):
                self._entries.set(key, 1, window_seconds)
                return None if limit >= 1 else float(window_seconds)
            expires = self._entries.expiry(key)
            assert expires is not None
            self._entries.set(key, count + 1, expires - self._clock())
            if count + 1 <= limit:
                return None
            return max(expires - self._clock(), 0.001)

    def forgive(self, key: str) -> None:
        with self._lock:
            count = self._entries.get(key)
            expires = self._entries.expiry(key)
            if isinstance(count, int) and count > 0 and expires is not None:
                self._entries.set(key, count - 1, expires - self._clock())
