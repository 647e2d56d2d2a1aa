"""Error responses as the OpenAPI page shows them: the envelope and each status's codes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    data: None = None
    error: ErrorBody
    meta: dict[str, Any]


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
