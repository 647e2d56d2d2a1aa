"""Responses as the OpenAPI page shows them: the envelope around each success's data, and
each error status's codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, get_args, get_origin
from uuid import UUID

from pydantic import BaseModel, create_model


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    data: None = None
    error: ErrorBody
    meta: dict[str, Any]


class CommandResultBody(BaseModel):
    """What every command answers: the entity it created or changed, its trip, and the
    trip's new version (also the `ETag`)."""

    id: UUID
    trip_id: UUID
    version: int


class HistoryEntryBody(BaseModel):
    """One event of a trip's history, in the published contract's words."""

    version: int
    event_type: str
    schema_version: int
    event_id: UUID
    occurred_at: datetime
    actor_id: UUID
    correlation_id: UUID
    causation_id: UUID | None  # what caused it: e.g. the acceptance of an itinerary draft
    changes: dict[str, Any]  # the contract's payload


def success(
    data: Any, description: str = "data: the result", status: int = 200
) -> dict[int | str, dict[str, Any]]:
    """A success response whose `data` is `data` (a model, or `list[model]`)."""
    name = f"{get_args(data)[0].__name__}List" if get_origin(data) is list else data.__name__
    envelope = create_model(
        f"{name}Envelope",
        data=(data, ...),
        error=(None, None),
        meta=(dict[str, Any], ...),
    )
    return {status: {"model": envelope, "description": description}}


def errors(by_status: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """`{404: "trip_not_found, not_found"}` → OpenAPI responses with the error envelope."""
    return {
        status: {"model": ErrorEnvelope, "description": f"error.code: {codes}"}
        for status, codes in by_status.items()
    }


AUTHENTICATED = {401: "unauthenticated (every token failure reads the same)", 429: "rate_limited"}
COMMAND = {
    **AUTHENTICATED,
    400: "invalid_if_match, invalid_cursor",
    403: "forbidden (your role does not allow it)",
    409: "concurrency_conflict, trip_closed (a completed or "
    "cancelled trip's itinerary and dates are frozen)",
    412: "version_mismatch (details.current_version; for activities, conflicting_fields)",
    413: "payload_too_large",
    422: "validation_failed (details list the fields), idempotency_key_reused, or a domain "
    "rule: end_before_start, dates_outside_trip, times_outside_destination, "
    "invalid_status_transition, last_owner, invalid_time_zone, invalid_currency",
    503: "event_store_unavailable (nothing was recorded), dependency_unavailable; Retry-After",
}


CURSOR = "meta.next_cursor of the page before: the page starts right after the item it names"
