"""The one mapping from errors to HTTP statuses and stable error codes."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, time, timedelta
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException

from api.envelope import error
from read_side.chat import MessageMarkNotFoundError
from read_side.errors import (
    ActivityViewNotFoundError,
    DateRangeError,
    DestinationViewNotFoundError,
    InvalidCursorError,
    MembersOnlyError,
    OperatorsOnlyError,
    SyncResetRequiredError,
    TripViewNotFoundError,
    UserProfileNotFoundError,
    VersionAheadError,
)
from write_side.avatars.errors import UnsupportedImageError
from write_side.errors import (
    ActivityNotFoundError,
    AlreadyMemberError,
    AmbiguousLocalTimeError,
    AuthenticationError,
    BaseVersionTooOldError,
    CommandKeyReusedError,
    ConcurrencyConflictError,
    ConflictNotFoundError,
    DatesOutsideTripError,
    DependencyUnavailableError,
    DestinationNotFoundError,
    EmailTakenError,
    EndBeforeStartError,
    EntityDeletedError,
    EntityExistsError,
    EventStoreUnavailableError,
    FieldConflictError,
    ForbiddenError,
    InvalidAmountError,
    InvalidCredentialsError,
    InvalidCurrencyError,
    InvalidStatusTransitionError,
    InvalidTimeZoneError,
    LastOwnerError,
    MemberNotFoundError,
    MessageContentError,
    MessageNotFoundError,
    NonexistentLocalTimeError,
    NotificationNotFoundError,
    NotMessageSenderError,
    RateLimitedError,
    ReplyOutsideRoomError,
    SystemMessageEditError,
    TimeOutOfRangeError,
    TimesOutsideDestinationError,
    TripClosedError,
    TripNotFoundError,
    UnsupportedChangeError,
    UsernameTakenError,
    UserNotFoundError,
    VersionAheadOfTripError,
    VersionMismatchError,
)
from write_side.identity.errors import TokenExpiredError, TokenInvalidError, TokenSpentError
from write_side.planner.errors import (
    DraftNotFoundError,
    DraftNotReadyError,
    QuotaExceededError,
    UnknownDraftItemError,
)

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error raised by the API layer itself (headers, authentication)."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code


# Error class → (HTTP status, stable code). Subclasses map through their nearest listed base.
ERROR_CODES: dict[type[Exception], tuple[int, str]] = {
    TripNotFoundError: (404, "trip_not_found"),
    TripViewNotFoundError: (404, "trip_not_found"),
    DestinationNotFoundError: (404, "destination_not_found"),
    EndBeforeStartError: (422, "end_before_start"),
    DatesOutsideTripError: (422, "dates_outside_trip"),
    TimesOutsideDestinationError: (422, "times_outside_destination"),
    VersionMismatchError: (412, "version_mismatch"),
    ConcurrencyConflictError: (409, "concurrency_conflict"),
    InvalidCursorError: (400, "invalid_cursor"),
    VersionAheadError: (422, "min_version_ahead"),
    AuthenticationError: (401, "unauthenticated"),
    InvalidCredentialsError: (401, "invalid_credentials"),
    EmailTakenError: (409, "email_taken"),
    UsernameTakenError: (409, "username_taken"),
    UserNotFoundError: (404, "user_not_found"),
    UserProfileNotFoundError: (404, "user_not_found"),
    RateLimitedError: (429, "rate_limited"),
    EventStoreUnavailableError: (503, "event_store_unavailable"),
    DependencyUnavailableError: (503, "dependency_unavailable"),
    CommandKeyReusedError: (422, "idempotency_key_reused"),
    # The read side's PostgreSQL unreachable, or no connection free in time.
    psycopg.OperationalError: (503, "dependency_unavailable"),
    PoolTimeout: (503, "dependency_unavailable"),
    ForbiddenError: (403, "forbidden"),
    InvalidStatusTransitionError: (422, "invalid_status_transition"),
    LastOwnerError: (422, "last_owner"),
    AlreadyMemberError: (409, "already_member"),
    MemberNotFoundError: (404, "member_not_found"),
    ActivityNotFoundError: (404, "activity_not_found"),
    ActivityViewNotFoundError: (404, "activity_not_found"),
    DestinationViewNotFoundError: (404, "destination_not_found"),
    InvalidTimeZoneError: (422, "invalid_time_zone"),
    InvalidCurrencyError: (422, "invalid_currency"),
    InvalidAmountError: (422, "invalid_amount"),
    TripClosedError: (409, "trip_closed"),
    NonexistentLocalTimeError: (422, "nonexistent_local_time"),
    AmbiguousLocalTimeError: (422, "ambiguous_local_time"),
    TimeOutOfRangeError: (422, "time_out_of_range"),
    MessageNotFoundError: (404, "message_not_found"),
    MessageMarkNotFoundError: (404, "message_not_found"),
    MessageContentError: (422, "invalid_message"),
    ReplyOutsideRoomError: (422, "reply_outside_room"),
    NotMessageSenderError: (403, "not_message_sender"),
    SystemMessageEditError: (422, "system_message"),
    NotificationNotFoundError: (404, "notification_not_found"),
    EntityExistsError: (409, "entity_exists"),
    EntityDeletedError: (410, "entity_deleted"),
    UnsupportedChangeError: (422, "unsupported_change"),
    VersionAheadOfTripError: (422, "base_version_ahead"),
    BaseVersionTooOldError: (409, "base_version_too_old"),
    ConflictNotFoundError: (404, "conflict_not_found"),
    SyncResetRequiredError: (410, "sync_reset_required"),
    MembersOnlyError: (403, "members_only"),
    OperatorsOnlyError: (403, "operators_only"),
    DateRangeError: (422, "invalid_date_range"),
    DraftNotFoundError: (404, "draft_not_found"),
    DraftNotReadyError: (409, "draft_not_ready"),
    UnknownDraftItemError: (422, "unknown_draft_item"),
    QuotaExceededError: (429, "quota_exceeded"),
    TokenInvalidError: (400, "token_invalid"),
    TokenExpiredError: (410, "token_expired"),
    TokenSpentError: (410, "token_spent"),
    UnsupportedImageError: (422, "unsupported_image"),
}

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def _details(exc: Exception) -> dict[str, Any] | None:
    if isinstance(exc, UnknownDraftItemError):
        return {"item_ids": [str(i) for i in exc.item_ids]}
    if isinstance(exc, FieldConflictError):
        return {
            "current_version": exc.current,
            "expected_version": exc.expected,
            "conflicting_fields": exc.fields,
        }
    if isinstance(exc, VersionMismatchError):
        return {"current_version": exc.current, "expected_version": exc.expected}
    return None


def _headers(exc: Exception) -> dict[str, str] | None:
    if isinstance(exc, VersionMismatchError):
        return {"ETag": f'"{exc.current}"'}
    if isinstance(exc, AuthenticationError):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, QuotaExceededError):  # the allowance is per UTC day
        now = datetime.now(UTC)
        midnight = datetime.combine(now.date() + timedelta(days=1), time(), UTC)
        return {"Retry-After": str(max(1, math.ceil((midnight - now).total_seconds())))}
    if isinstance(exc, RateLimitedError):
        return {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
    if isinstance(exc, DependencyUnavailableError):
        return {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
    if isinstance(exc, (EventStoreUnavailableError, psycopg.OperationalError, PoolTimeout)):
        return {"Retry-After": "1"}
    return None


def code_of(exc: Exception) -> tuple[int, str] | None:
    """The HTTP status and stable code of a domain error (None: not a domain error)."""
    return _lookup(exc)


def _lookup(exc: Exception) -> tuple[int, str] | None:
    for cls in type(exc).__mro__:
        if cls in ERROR_CODES:
            return ERROR_CODES[cls]
    return None


def install_error_handlers(app: FastAPI) -> None:
    async def on_known_error(request: Request, exc: Exception) -> JSONResponse:
        status_code, code = _lookup(exc) or (500, "internal_error")
        if isinstance(exc, AuthenticationError):
            log.info("authentication failed: %s", exc.reason)
        elif status_code == 503:
            log.warning("%s %s: %s (%r)", request.method, request.url.path, code, exc)
        return error(request, status_code, code, str(exc), _details(exc), headers=_headers(exc))

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error(request, exc.status_code, exc.code, str(exc))

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        return error(request, 422, "validation_failed", "The request is not valid", details)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error(request, exc.status_code, code, str(exc.detail))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error(request, 500, "internal_error", "Internal server error")

    for cls in ERROR_CODES:
        app.add_exception_handler(cls, on_known_error)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
