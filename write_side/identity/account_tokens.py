"""Single-use account tokens (password reset, email verification).

A token is `<user id hex>.<43 random url-safe characters>`: 256 random bits, and the account
it belongs to, so it is checked against one aggregate without an index of tokens. Only its
SHA-256 digest is stored (in the user's events, which never publish it); the token itself
exists only in the mail.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from write_side.identity.errors import TokenExpiredError, TokenInvalidError, TokenSpentError

RANDOM_BYTES = 32
_MAX_LENGTH = 200


@dataclass(frozen=True)
class PendingToken:
    """The one token of a kind a user may use now: the last one issued wins."""

    digest: str
    expires_at: datetime
    email: str = ""  # verification: the address it proves


def new_token(user_id: UUID) -> str:
    return f"{user_id.hex}.{secrets.token_urlsafe(RANDOM_BYTES)}"


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_of(token: str) -> UUID:
    """The account a token names; TokenInvalidError if it is not shaped like one."""
    head, dot, tail = token.partition(".")
    if not dot or len(head) != 32 or not tail or len(token) > _MAX_LENGTH:
        raise TokenInvalidError()
    try:
        return UUID(hex=head)
    except ValueError:
        raise TokenInvalidError() from None


def check(token: str, pending: PendingToken | None, spent: str | None, now: datetime) -> str:
    """The token's digest if it is the pending one and unexpired; else the reason it is not
    (spent: it was the last one used; anything else: invalid). Digests are compared in
    constant time."""
    digest = digest_of(token)
    if pending is not None and hmac.compare_digest(digest, pending.digest):
        if now >= pending.expires_at:
            raise TokenExpiredError()
        return digest
    if spent is not None and hmac.compare_digest(digest, spent):
        raise TokenSpentError()
    raise TokenInvalidError()
