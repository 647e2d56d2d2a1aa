from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.deps import AccountsService, Acting, AppContainer, CurrentClaims
from api.envelope import ok
from api.identity_schemas import (
    EmailVerifiedBody,
    JsonWebKeySet,
    LoggedOutBody,
    LoginBody,
    LogoutBody,
    PasswordResetBody,
    PasswordResetConfirmBody,
    PasswordResetDoneBody,
    RefreshBody,
    RegisterBody,
    RegisteredBody,
    ResetRequestedBody,
    SessionBody,
    VerificationSentBody,
    VerifyEmailBody,
    check_strength,
)
from api.openapi import errors, success
from api.routers.commands import log_command
from api.throttle import Limit, client_address, count, forgive
from write_side.errors import RateLimitedError
from write_side.identity.accounts import Register
from write_side.identity.tokens import TokenPair
from write_side.identity.user import normalize_email

router = APIRouter(
    prefix="/auth",
    tags=["auth"],
    responses=errors(
        {
            400: "token_invalid (password reset, email verification)",
            401: "invalid_credentials (login), unauthenticated (refresh, logout)",
            409: "email_taken, username_taken",
            410: "token_expired, token_spent (password reset, email verification)",
            413: "payload_too_large",
            422: "validation_failed",
            429: "rate_limited (Retry-After)",
            503: "dependency_unavailable (Retry-After): Redis or PostgreSQL did not answer",
        }
    ),
)
log = logging.getLogger("itinera.auth")


def token_body(pair: TokenPair) -> dict[str, Any]:
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "token_type": pair.token_type,
        "expires_in": pair.expires_in,
    }


@router.post("/register", status_code=201, responses=success(RegisteredBody, status=201))
def register(
    request: Request, body: RegisterBody, accounts: AccountsService, container: AppContainer
) -> JSONResponse:
    """Create an account (public). Throttled per client address: 429.
    Errors: 409 email_taken / username_taken, 422."""
    settings = container.settings
    count(
        container.rate_limiter,
        Limit(
            f"register:address:{client_address(request)}",
            settings.registrations_per_address,
            settings.registration_window_seconds,
        ),
    )
    user_id = accounts.register(
        Register(
            email=body.email,
            username=body.username,
            password=body.password,
            first_name=body.first_name,
            last_name=body.last_name,
        ),
        request.state.correlation_id,
    )
    log_command(
        "register", "user", user_id, actor=user_id, correlation_id=request.state.correlation_id
    )
    return ok(request, {"id": user_id, "username": body.username}, status_code=201)


@router.post("/login", responses=success(SessionBody))
def login(
    request: Request, body: LoginBody, accounts: AccountsService, container: AppContainer
) -> JSONResponse:
    """Exchange an email or username and password for tokens (public). Failed attempts are
    counted per client address and per account (named either way): past the limit, 429."""
    settings, limiter = container.settings, container.rate_limiter
    address = client_address(request)
    attempts = (
        Limit(
            f"login:address:{address}",
            settings.login_attempts_per_address,
            settings.login_window_seconds,
        ),
        Limit(
            f"login:account:{accounts.login_subject(body.login)}",
            settings.login_attempts_per_account,
            settings.login_window_seconds,
        ),
    )
    try:
        count(limiter, *attempts)
    except RateLimitedError:
        log.warning("login throttled", extra={"action": "login", "address": address})
        raise
    session = accounts.login(body.login, body.password)
    forgive(limiter, *attempts)  # only failures count
    log_command(
        "login",
        "user",
        session.user_id,
        actor=session.user_id,
        correlation_id=request.state.correlation_id,
    )
    return ok(request, {"user_id": session.user_id, **token_body(session.tokens)})


@router.post("/refresh", responses=success(SessionBody))
def refresh(
    request: Request, body: RefreshBody, accounts: AccountsService, container: AppContainer
) -> JSONResponse:
    """Spend a refresh token for a new pair (public). Reusing a spent one revokes its family,
    except a retry within ITINERA_REFRESH_GRACE_SECONDS of the rotation, which gets the same
    pair again. Throttled per client address: 429."""
    settings = container.settings
    count(
        container.rate_limiter,
        Limit(
            f"refresh:address:{client_address(request)}",
            settings.refreshes_per_address,
            settings.refresh_window_seconds,
        ),
    )
    session = accounts.refresh(body.refresh_token)
    return ok(request, {"user_id": session.user_id, **token_body(session.tokens)})


@router.post("/logout", responses=success(LoggedOutBody))
def logout(
    request: Request,
    claims: CurrentClaims,
    accounts: AccountsService,
    body: LogoutBody | None = None,
) -> JSONResponse:
    """Revoke this access token and, if given, the refresh token's whole family."""
    accounts.logout(claims, body.refresh_token if body else None)
    log_command(
        "logout",
        "user",
        claims.user_id,
        actor=claims.user_id,
        correlation_id=request.state.correlation_id,
    )
    return ok(request, {"logged_out": True})


@router.get("/keys/public", responses=success(JsonWebKeySet, "data: a JWKS"))
def public_keys(request: Request, accounts: AccountsService) -> JSONResponse:
    """The public keys that verify tokens, as a JWKS (public)."""
    return ok(request, accounts.tokens.jwks())


RESET_ACCEPTED = {
    "accepted": True,
    "message": "If an active account has this address, a reset link is on its way.",
}


@router.post("/password-reset", status_code=202, responses=success(ResetRequestedBody, status=202))
async def request_password_reset(
    request: Request, body: PasswordResetBody, accounts: AccountsService, container: AppContainer
) -> JSONResponse:
    """Mail a password-reset link (public). Always 202 with the same body, answered no sooner
    than ITINERA_PASSWORD_RESET_ANSWER_SECONDS, whether the address has an account or not.
    Throttled per client address and per email address: 429."""
    settings, arrived = container.settings, time.monotonic()
    limits = (
        Limit(
            f"password_reset:address:{client_address(request)}",
            settings.password_resets_per_address,
            settings.password_reset_window_seconds,
        ),
        Limit(
            f"password_reset:account:{normalize_email(body.email)}",
            settings.password_resets_per_account,
            settings.password_reset_window_seconds,
        ),
    )
    await run_in_threadpool(count, container.rate_limiter, *limits)
    await run_in_threadpool(
        accounts.request_password_reset, body.email, request.state.correlation_id
    )
    left = settings.password_reset_answer_seconds - (time.monotonic() - arrived)
    if left > 0:
        await asyncio.sleep(left)
    elif settings.password_reset_answer_seconds > 0:
        log.warning("a password-reset request took longer than its answer time")
    return ok(request, RESET_ACCEPTED, status_code=202)


def _token_attempt(request: Request, container: AppContainer) -> None:
    settings = container.settings
    count(
        container.rate_limiter,
        Limit(
            f"account_token:address:{client_address(request)}",
            settings.account_token_attempts_per_address,
            settings.account_token_window_seconds,
        ),
    )


@router.post("/password-reset/confirm", responses=success(PasswordResetDoneBody))
def confirm_password_reset(
    request: Request,
    body: PasswordResetConfirmBody,
    accounts: AccountsService,
    container: AppContainer,
) -> JSONResponse:
    """Set a new password with the mailed token (public): the token is spent and every
    session of the account ends. Errors: 400 token_invalid, 410 token_expired / token_spent,
    422 (a weak password), 429."""
    _token_attempt(request, container)
    holder = accounts.holder_of_reset_token(body.token)
    try:
        check_strength(body.new_password, holder.username, holder.email.split("@")[0])
    except ValueError as weak:
        raise RequestValidationError(
            [{"loc": ("body", "new_password"), "msg": str(weak), "type": "value_error"}]
        ) from None
    user_id = accounts.reset_password(body.token, body.new_password, request.state.correlation_id)
    log_command(
        "reset_password",
        "user",
        user_id,
        actor=user_id,
        correlation_id=request.state.correlation_id,
    )
    return ok(request, {"password_reset": True})


@router.post("/verify-email", responses=success(EmailVerifiedBody))
def verify_email(
    request: Request, body: VerifyEmailBody, accounts: AccountsService, container: AppContainer
) -> JSONResponse:
    """Prove an address with the mailed token (public). For an email change, the new address
    replaces the old one now. Errors: 400 token_invalid, 409 email_taken (another account
    took the new address meanwhile), 410 token_expired / token_spent, 429."""
    _token_attempt(request, container)
    user = accounts.verify_email(body.token, request.state.correlation_id)
    log_command(
        "verify_email", "user", user.id, actor=user.id, correlation_id=request.state.correlation_id
    )
    return ok(request, {"email": user.email, "email_verified": user.email_verified})


@router.post(
    "/verify-email/resend", status_code=202, responses=success(VerificationSentBody, status=202)
)
def resend_verification(
    request: Request, acting: Acting, accounts: AccountsService, container: AppContainer
) -> JSONResponse:
    """Mail a new verification link to the address awaiting verification (the pending new
    one, else the current one while unverified); `sent: false` when none awaits."""
    _token_attempt(request, container)
    sent = accounts.resend_verification(acting)
    return ok(request, {"sent": sent}, status_code=202)
