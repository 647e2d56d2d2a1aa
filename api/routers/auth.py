from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import AccountsService, AppContainer, CurrentClaims
from api.envelope import ok
from api.identity_schemas import LoginBody, LogoutBody, RefreshBody, RegisterBody
from api.openapi import errors
from api.routers.commands import log_command
from api.throttle import Limit, client_address, count, forgive
from write_side.errors import RateLimitedError
from write_side.identity.accounts import Register
from write_side.identity.tokens import TokenPair

router = APIRouter(
    prefix="/auth",
    tags=["auth"],
    responses=errors(
        {
            401: "invalid_credentials (login), unauthenticated (refresh, logout)",
            409: "email_taken, username_taken",
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


@router.post("/register", status_code=201)
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


@router.post("/login")
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


@router.post("/refresh")
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


@router.post("/logout")
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


@router.get("/keys/public")
def public_keys(request: Request, accounts: AccountsService) -> JSONResponse:
    """The public keys that verify tokens, as a JWKS (public)."""
    return ok(request, accounts.tokens.jwks())
