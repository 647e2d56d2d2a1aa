"""Access tokens verified once per process: the signature and claims of a token seen before
are not checked again until it expires, but whether it was revoked is asked on every request
(one indexed query), so a logout, a password change or a deactivation refuses the token from
the very next request, on every instance."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import jwt

from write_side.errors import AuthenticationError
from write_side.identity.tokens import Claims, KeyRing, TokenService

CAPACITY = 10_000  # tokens kept; about 1 KB each


class Revocations(Protocol):
    async def is_revoked(self, jti: str, subject: str, issued_at: float) -> bool: ...


@dataclass(frozen=True)
class _Verified:
    claims: Claims
    kid: str  # the key that signed it: a token whose key was retired is verified again


class VerifiedTokens:
    def __init__(
        self,
        tokens: TokenService,
        keys: Callable[[], KeyRing],
        revocations: Revocations,
        capacity: int = CAPACITY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tokens = tokens
        self._keys = keys
        self._revocations = revocations
        self._capacity = capacity
        self._clock = clock
        self._verified: dict[str, _Verified] = {}

    async def claims(self, token: str) -> Claims:
        """The claims of a valid, unexpired, unrevoked access token; else AuthenticationError
        (DependencyUnavailableError when revocations cannot be asked)."""
        known = self._verified.get(token)
        if known is None or not self._still_good(known):
            self._verified.pop(token, None)
            # The full check (signature, claims, revocation), off the event loop as before.
            claims = await asyncio.to_thread(self._tokens.verify_access, token)
            self._keep(token, claims)
            return claims
        claims = known.claims
        if await self._revocations.is_revoked(claims.jti, str(claims.user_id), claims.issued_at):
            raise AuthenticationError("revoked")
        return claims

    def _still_good(self, known: _Verified) -> bool:
        """Unexpired (no leeway: a cached token never outlives its `exp`), and its key still
        verifies."""
        return self._clock() < known.claims.expires_at and known.kid in self._keys().public_keys

    def _keep(self, token: str, claims: Claims) -> None:
        if len(self._verified) >= self._capacity:
            now = self._clock()
            expired = [t for t, v in self._verified.items() if v.claims.expires_at <= now]
            for gone in expired:
                del self._verified[gone]
            while len(self._verified) >= self._capacity:  # the oldest kept go first
                del self._verified[next(iter(self._verified))]
        kid = jwt.get_unverified_header(token).get("kid")
        if isinstance(kid, str):
            self._verified[token] = _Verified(claims, kid)
