"""Ports of the identity services; adapters: Redis (distributed) and in-process (embedded)."""

from __future__ import annotations

from typing import Protocol


class RevocationStore(Protocol):
    """What logout, rotation and deactivation revoke, remembered until the tokens expire."""

    def revoke_token(self, jti: str, ttl_seconds: int) -> None: ...

    def revoke_subject_before(self, subject: str, issued_before: float, ttl_seconds: int) -> None:
        """Tokens of `subject` issued before the instant (epoch seconds) are revoked."""
        ...

    def is_revoked(self, jti: str, subject: str, issued_at: float) -> bool: ...

    def start_family(self, family: str, jti: str, ttl_seconds: int) -> None:
        """A new refresh-token family whose only valid member is `jti`."""
        ...

    def rotate_family(self, family: str, presented: str, successor: str, ttl_seconds: int) -> bool:
        """Atomically: if `presented` is the family's valid member, make `successor` the valid
        one and return True; otherwise (reuse, unknown or revoked) revoke the family, False."""
        ...

    def revoke_family(self, family: str, ttl_seconds: int) -> None: ...


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int, window_seconds: int) -> float | None:
        """Count one hit of `key`; None if within `limit` per window, else seconds to wait."""
        ...
