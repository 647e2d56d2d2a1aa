"""The Kafka headers every published message carries, so a consumer can route, dedupe and
trace a message without parsing its value (which stays the JSON envelope).

`causation_id` is what caused the event: the event a process manager reacted to (a
notification caused by a trip change), or, for an event of a person's request, the request
itself, whose id is the correlation id. `traceparent` is the W3C trace context the request
came with; absent when it had none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from streams.envelope import EventEnvelope

CONTENT_TYPE = "application/json"

# Name → what it holds, for the AsyncAPI document; every header's value is UTF-8 text.
HEADERS: dict[str, str] = {
    "event_type": "The message's event type (its value's `event_type`).",
    "schema_version": "The version of that event type's schema (its value's `schema_version`).",
    "content-type": f"Always `{CONTENT_TYPE}`: the value is one UTF-8 JSON object.",
    "correlation_id": "The request this event belongs to (shared by everything it caused).",
    "causation_id": (
        "What caused this event: the event a process manager reacted to, or for a person's "
        "command its request (then equal to correlation_id)."
    ),
    "event_id": "The event's stable id: a message delivered twice carries the same one.",
    "occurred_at": "When the event happened, ISO 8601 with its UTC offset.",
    "traceparent": "The W3C trace context of the request, when it had one.",
}
OPTIONAL_HEADERS = frozenset({"traceparent"})


@dataclass(frozen=True)
class Cause:
    """What an event's stored metadata says caused it (None: the request did)."""

    causation_id: UUID | None = None
    traceparent: str | None = None


def headers_of(event: EventEnvelope, cause: Cause) -> list[tuple[str, bytes]]:
    """A domain event's headers."""
    return message_headers(
        event.event_type,
        event.schema_version,
        event.event_id,
        event.occurred_at,
        event.correlation_id,
        cause.causation_id or event.correlation_id,
        cause.traceparent,
    )


def message_headers(
    event_type: str,
    schema_version: int,
    event_id: UUID,
    occurred_at: datetime,
    correlation_id: UUID,
    causation_id: UUID,
    traceparent: str | None = None,
) -> list[tuple[str, bytes]]:
    """The headers of a message of any topic (a fact's cause is its source event)."""
    headers = [
        ("event_type", event_type.encode()),
        ("schema_version", str(schema_version).encode()),
        ("content-type", CONTENT_TYPE.encode()),
        ("correlation_id", str(correlation_id).encode()),
        ("causation_id", str(causation_id).encode()),
        ("event_id", str(event_id).encode()),
        ("occurred_at", occurred_at.isoformat().encode()),
    ]
    if traceparent is not None:
        headers.append(("traceparent", traceparent.encode()))
    return headers
