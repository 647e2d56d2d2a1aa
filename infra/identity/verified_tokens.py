"""Access tokens verified once per process: the signature and claims of a token seen before
are not checked again until it expires.

Whether it was revoked is asked again (one indexed query) whenever a revocation may have
happened since it was last asked: every revocation (a logout, a password change, a
deactivation) sends a notice when it commits, which every instance hears within
milliseconds, and the instance that wrote it counts it at once, so the token is refused
there from the very next request on. Without notices (none wired, or the listening
connection down) it is asked on every request, and even with them at least every
`RECHECK_SECONDS`, in case notices were lost unseen. The requests of one token that find it
due at once, with the same notices heard, share one question: under load every request in
flight found it due at the same moment, and each asked (a few hundred questions every
`RECHECK_SECONDS` for one busy client, queued on the pool before the reads)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import jwt

from write_side.errors import AuthenticationError
from write_side.identity.tokens import Claims, KeyRing, TokenService

CAPACITY = 10_000  # tokens kept; about 1 KB each
RECHECK_SECONDS = 5.0


class Revocations(Protocol):
    async def is_revoked(self, jti: str, subject: str, issued_at: float) -> bool: ...


class RevocationNotices(Protocol):
    def revocations_heard(self) -> int | None:
        """A count that moves with every revocation (or possibly missed one); None when
        revocations are not heard now."""
        ...


@dataclass
class _Verified:
    claims: Claims
    kid: str  # the key that signed it: a token whose key was retired is verified again
    unrevoked: tuple[int, float] | None = None  # (notices heard, when): last found unrevoked


class VerifiedTokens:
    def __init__(
        self,
        tokens: TokenService,
        keys: Callable[[], KeyRing],
        revocations: Revocations,
        capacity: int = CAPACITY,
        clock: Callable[[], float] = time.time,
        notices: RevocationNotices | None = None,
    ) -> None:
        self._tokens = tokens
        self._keys = keys
        self._revocations = revocations
        self._notices = notices
        self._capacity = capacity
        self._clock = clock
        self._verified: dict[str, _Verified] = {}
        self._asking: dict[tuple[str, int], asyncio.Future[bool]] = {}

    async def claims(self, token: str) -> Claims:
        """The claims of a valid, unexpired, unrevoked access token; else AuthenticationError
        (DependencyUnavailableError when revocations cannot be asked)."""
        heard = self._notices.revocations_heard() if self._notices is not None else None
        known = self._verified.get(token)
        if known is None or not self._still_good(known):
            self._verified.pop(token, None)
            # The full check (signature, claims, revocation), off the event loop as before.
            claims = await asyncio.to_thread(self._tokens.verify_access, token)
            self._keep(token, claims, heard)
            return claims
        claims = known.claims
        if not self._unrevoked_since(known, heard):
            if await self._revoked(token, claims, heard):
                raise AuthenticationError("revoked")
            # As of `heard`, taken before asking: a revocation heard meanwhile moved it on.
            known.unrevoked = None if heard is None else (heard, self._clock())
        return claims

    async def _revoked(self, token: str, claims: Claims, heard: int | None) -> bool:
        """Asked of the store; joined to the question already asked for this token with the
        same notices heard (as good as the answer kept for RECHECK_SECONDS after it). Without
        notices, every use asks."""

        def ask() -> Awaitable[bool]:
            return self._revocations.is_revoked(claims.jti, str(claims.user_id), claims.issued_at)

        if heard is None:
            return await ask()
        key = (token, heard)
        asking = self._asking.get(key)
        if asking is None:
            asking = self._asking[key] = asyncio.ensure_future(ask())
            asking.add_done_callback(lambda _: self._asking.pop(key, None))
        # Shielded: a request that goes away (its client hung up) leaves the others' answer.
        return await asyncio.shield(asking)

    def _unrevoked_since(self, known: _Verified, heard: int | None) -> bool:
        """Found unrevoked, with no revocation heard since, nor any missed, recently."""
        if heard is None or known.unrevoked is None:
            return False
        then, at = known.unrevoked
        return then == heard and self._clock() - at < RECHECK_SECONDS

    def _still_good(self, known: _Verified) -> bool:
        """Unexpired (no leeway: a cached token never outlives its `exp`), and its key still
        verifies."""
        return self._clock() < known.claims.expires_at and known.kid in self._keys().public_keys

    def _keep(self, token: str, claims: Claims, heard: int | None = None) -> None:
        if len(self._verified) >= self._capacity:
            now = self._clock()
            expired = [t for t, v in self._verified.items() if v.claims.expires_at <= now]
            for gone in expired:
                del self._verified[gone]
            while len(self._verified) >= self._capacity:  # the oldest kept go first
                del self._verified[next(iter(self._verified))]
        kid = jwt.get_unverified_header(token).get("kid")
        if isinstance(kid, str):
            unrevoked = None if heard is None else (heard, self._clock())
            self._verified[token] = _Verified(claims, kid, unrevoked)
