"""RS256 access and refresh tokens (PyJWT), signed by the key ring's current key.

Access tokens are short-lived; refresh tokens are long-lived, rotated on every use, and
belong to a family: presenting an already-rotated refresh token revokes the whole family.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from jwt.algorithms import RSAAlgorithm

from write_side.errors import AuthenticationError
from write_side.identity.ports import Issue, RevocationStore

ALGORITHM = "RS256"
ACCESS = "access"
REFRESH = "refresh"
TICKET = "ws_ticket"


@dataclass(frozen=True)
class KeyRing:
    """Every key that verifies, and the one that signs (it is among them)."""

    signing_kid: str
    signing_key: RSAPrivateKey
    public_keys: Mapping[str, RSAPublicKey]

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, public_key in sorted(self.public_keys.items()):
            jwk: dict[str, Any] = RSAAlgorithm.to_jwk(public_key, as_dict=True)
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": ALGORITHM})
        return {"keys": keys}


@dataclass(frozen=True)
class TokenPolicy:
    issuer: str = "itinera"
    audience: str = "itinera-api"
    access_ttl_seconds: int = 15 * 60
    refresh_ttl_seconds: int = 30 * 24 * 3600
    leeway_seconds: int = 5
    refresh_grace_seconds: float = 10.0  # a retried refresh gets the same pair back
    ticket_ttl_seconds: int = 30  # a WebSocket ticket, from issue to use


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


@dataclass(frozen=True)
class Claims:
    user_id: UUID
    jti: str
    issued_at: float
    expires_at: float
    family: str | None = None


class TokenService:
    def __init__(
        self,
        keys: Callable[[], KeyRing],
        revocations: RevocationStore,
        policy: TokenPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._revocations = revocations
        self._policy = policy or TokenPolicy()
        self._clock = clock

    @property
    def policy(self) -> TokenPolicy:
        return self._policy

    def jwks(self) -> dict[str, Any]:
        return self._keys().jwks()

    def issue(self, user_id: UUID) -> TokenPair:
        """A new session: an access token and the first refresh token of a new family."""
        family = uuid.uuid4().hex
        first = self._new_issue()
        self._revocations.start_family(family, first.refresh_jti, self._policy.refresh_ttl_seconds)
        return self._pair(user_id, family, first)

    def verify_access(self, token: str) -> Claims:
        return self._verify(token, ACCESS)

    def refresh(self, refresh_token: str) -> tuple[Claims, TokenPair]:
        """Rotate: the presented refresh token is spent and a new pair issued. A token that
        was already spent revokes its family (someone else holds a copy), except the one
        spent last, within the grace window: its retry gets the same new pair again."""
        claims = self._verify(refresh_token, REFRESH)
        assert claims.family is not None
        granted = self._revocations.rotate_family(
            claims.family,
            claims.jti,
            self._new_issue(),
            self._policy.refresh_ttl_seconds,
            self._policy.refresh_grace_seconds,
        )
        if granted is None:
            raise AuthenticationError("refresh token reused or family revoked")
        return claims, self._pair(claims.user_id, claims.family, granted)

    def refresh_claims(self, refresh_token: str) -> Claims:
        return self._verify(refresh_token, REFRESH)

    def revoke_session(self, access: Claims, refresh: Claims | None) -> None:
        """Logout: the access token until it expires, and the refresh token's family."""
        remaining = max(1, int(access.expires_at - self._clock()) + self._policy.leeway_seconds)
        self._revocations.revoke_token(access.jti, remaining)
        if refresh is not None and refresh.family is not None:
            self._revocations.revoke_family(refresh.family, self._policy.refresh_ttl_seconds)

    def revoke_everything_of(self, user_id: UUID) -> None:
        """Every token of the user issued until now (password change, deactivation)."""
        self._revocations.revoke_subject_before(
            str(user_id), self._clock(), self._policy.refresh_ttl_seconds
        )

    def _new_issue(self) -> Issue:
        return Issue(uuid.uuid4().hex, uuid.uuid4().hex, self._clock())

    def _pair(self, user_id: UUID, family: str, issue: Issue) -> TokenPair:
        """The pair of an issue; the same issue signs to the same tokens (RS256 signatures
        are deterministic)."""
        at, access_ttl = issue.issued_at, self._policy.access_ttl_seconds
        access = self._sign(user_id, ACCESS, issue.access_jti, at, access_ttl)
        refresh = self._sign(
            user_id, REFRESH, issue.refresh_jti, at, self._policy.refresh_ttl_seconds, fam=family
        )
        return TokenPair(access, refresh, access_ttl)

    def _sign(self, user_id: UUID, kind: str, jti: str, now: float, ttl: int, **extra: str) -> str:
        claims = {
            "iss": self._policy.issuer,
            "aud": self._policy.audience,
            "sub": str(user_id),
            "typ": kind,
            "jti": jti,
            "iat": now,
            "exp": int(now) + ttl,
            **extra,
        }
        ring = self._keys()
        return jwt.encode(
            claims, ring.signing_key, algorithm=ALGORITHM, headers={"kid": ring.signing_kid}
        )

    def issue_ticket(self, access: Claims) -> tuple[str, int]:
        """A single-use ticket standing for `access` (for a browser's WebSocket, which cannot
        send headers): short-lived, and spent by the first socket that presents it."""
        ttl = self._policy.ticket_ttl_seconds
        ticket = self._sign(
            access.user_id,
            TICKET,
            uuid.uuid4().hex,
            self._clock(),
            ttl,
            acc=access.jti,
            aiat=repr(access.issued_at),
            aexp=repr(access.expires_at),
        )
        return ticket, ttl

    def redeem_ticket(self, ticket: str) -> Claims:
        """The claims of the access token a ticket stands for; the ticket is spent."""
        payload = self._decode(ticket, TICKET)
        try:
            access = Claims(
                user_id=UUID(payload["sub"]),
                jti=str(payload["acc"]),
                issued_at=float(payload["aiat"]),
                expires_at=float(payload["aexp"]),
            )
        except (KeyError, ValueError, TypeError) as error:
            raise AuthenticationError(type(error).__name__) from None
        ttl = self._policy.ticket_ttl_seconds + self._policy.leeway_seconds
        if not self._revocations.spend_token(str(payload["jti"]), ttl):
            raise AuthenticationError("ticket already used")
        self.check_still_valid(access)
        return access

    def check_still_valid(self, access: Claims) -> None:
        """Raise unless the access token these claims came from is unexpired and unrevoked
        (a long-lived socket asks this again and again)."""
        if access.expires_at + self._policy.leeway_seconds < self._clock():
            raise AuthenticationError("expired")
        if self._revocations.is_revoked(access.jti, str(access.user_id), access.issued_at):
            raise AuthenticationError("revoked")

    def _verify(self, token: str, kind: str) -> Claims:
        payload = self._decode(token, kind)
        claims = Claims(
            user_id=UUID(payload["sub"]),
            jti=str(payload["jti"]),
            issued_at=float(payload["iat"]),
            expires_at=float(payload["exp"]),
            family=payload.get("fam"),
        )
        if self._revocations.is_revoked(claims.jti, str(claims.user_id), claims.issued_at):
            raise AuthenticationError("revoked")
        return claims

    def _decode(self, token: str, kind: str) -> dict[str, Any]:
        """The payload of a token of `kind` signed by one of our keys, still in its time."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._keys().public_keys.get(kid) if isinstance(kid, str) else None
            if key is None:
                raise AuthenticationError("unknown kid")
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._policy.audience,
                issuer=self._policy.issuer,
                leeway=self._policy.leeway_seconds,
                options={"require": ["exp", "iat", "sub", "jti", "typ", "iss", "aud"]},
            )
            if payload["typ"] != kind:
                raise AuthenticationError(f"not an {kind} token")
            UUID(payload["sub"])
            float(payload["iat"])
            float(payload["exp"])
        except AuthenticationError:
            raise
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as error:
            raise AuthenticationError(type(error).__name__) from None
        return payload
