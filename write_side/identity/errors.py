"""Errors of the account tokens (password reset, email verification). Each has its own
stable code, so a client can tell the user to ask for a new link or that it was used."""

from __future__ import annotations

from write_side.errors import DomainError


class AccountTokenError(DomainError):
    """A password-reset or verification token that cannot be used."""


class TokenInvalidError(AccountTokenError):
    """Malformed, unknown, replaced by a newer one, or of an inactive account."""

    def __init__(self) -> None:
        super().__init__("This link is not valid; ask for a new one")


class TokenExpiredError(AccountTokenError):
    def __init__(self) -> None:
        super().__init__("This link has expired; ask for a new one")


class TokenSpentError(AccountTokenError):
    def __init__(self) -> None:
        super().__init__("This link was already used")
