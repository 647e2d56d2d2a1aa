from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import AccountsService, AppContainer, CurrentClaims
from api.envelope import ok
from api.identity_schemas import LoginBody, LogoutBody, RefreshBody, RegisterBody
from api.openapi import errors
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
def register(request: Request, body: RegisterBody, accounts: AccountsService) -> JSONResponse:
    """Create an account (public). Errors: 409 email_taken / username_taken, 422."""
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
    log.info("action=register entity=user id=%s actor=%s", user_id, user_id)
    return ok(request, {"id": user_id, "username": body.username}, status_code=201)


@router.post("/login")
def login(
    request: Request, body: LoginBody, accounts: AccountsService, container: AppContainer
) -> JSONResponse:
    """Exchange an email or username and password for tokens (public). Throttled: 429."""
    settings, limiter = container.settings, container.rate_limiter
    address = request.client.host if request.client else "unknown"
    waits = [
        limiter.hit(
            f"login:address:{address}",
            settings.login_attempts_per_address,
            settings.login_window_seconds,
        ),
        limiter.hit(
            f"login:account:{body.login.lower()}",
            settings.login_attempts_per_account,
            settings.login_window_seconds,
        ),
    ]
    if any(wait is not None for wait in waits):
        log.warning("action=login throttled address=%s", address)
        raise RateLimitedError(max(wait for wait in waits if wait is not None))
    session = accounts.login(body.login, body.password)
    log.info("action=login entity=user id=%s actor=%s", session.user_id, session.user_id)
    return ok(request, {"user_id": session.user_id, **token_body(session.tokens)})


@router.post("/refresh")
def refresh(request: Request, body: RefreshBody, accounts: AccountsService) -> JSONResponse:
    """Spend a refresh token for a new pair; reusing a spent one revokes its family (public)."""
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
    log.info("action=logout entity=user id=%s actor=%s", claims.user_id, claims.user_id)
    return ok(request, {"logged_out": True})


@router.get("/keys/public")
def public_keys(request: Request, accounts: AccountsService) -> JSONResponse:
    """The public keys that verify tokens, as a JWKS (public)."""
    return ok(request, accounts.tokens.jwks())
