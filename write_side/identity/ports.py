"""Ports of the identity services. Revocations: PostgreSQL (durable, shared by every process);
rate limits: Redis (distributed) or in-process (embedded)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Issue:
    """One token pair's identity: signing it again with the same key gives the same tokens."""

    refresh_jti: str
    access_jti: str
    issued_at: float  # epoch seconds


class RevocationStore(Protocol):
    """What logout, rotation and deactivation revoke, remembered until the tokens expire.
    A store that cannot answer raises `DependencyUnavailableError`: never "not revoked"."""

    def revoke_token(self, jti: str, ttl_seconds: int) -> None: ...

    def spend_token(self, jti: str, ttl_seconds: int) -> bool:
        """Revoke a single-use token as it is used: True for the one caller that spent it,
        False if it was spent (or revoked) before. Atomic across processes."""
        ...

    def revoke_subject_before(self, subject: str, issued_before: float, ttl_seconds: int) -> None:
        """Tokens of `subject` issued before the instant (epoch seconds) are revoked."""
        ...

    def is_revoked(self, jti: str, subject: str, issued_at: float) -> bool: ...

    def start_family(self, family: str, jti: str, ttl_seconds: int) -> None:
        """A new refresh-token family whose only valid member is `jti`."""
        ...

    def rotate_family(
        self, family: str, presented: str, successor: Issue, ttl_seconds: int, grace_seconds: float
    ) -> Issue | None:
        """Atomically, when `presented` is:

        - the family's valid member: `successor` becomes the valid one and is returned;
        - the member it replaced last, within `grace_seconds` of `successor.issued_at`: the
          issue that replaced it is returned again (the client lost the reply and retries);
        - anything else (reuse, unknown or revoked): the family is revoked, None."""
        ...

    def revoke_family(self, family: str, ttl_seconds: int) -> None: ...


class RateLimiter(Protocol):
    """Fixed windows per key. A limiter that cannot count raises `DependencyUnavailableError`."""

    def hit(self, key: str, limit: int, window_seconds: int) -> float | None:
        """Count one hit of `key`; None if within `limit` per window, else seconds to wait."""
        ...

    def forgive(self, key: str) -> None:
        """Take back one hit of `key` in its current window (an attempt that turned out
        legitimate, such as a successful login)."""
        ...
