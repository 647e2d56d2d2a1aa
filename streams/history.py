"""A trip's audit trail in the published contract's words: each stored event becomes the
contract Kafka consumers read (money as strings, times as `{local, time_zone, utc}`, no
internal fields), through the same mapping the relay uses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eventsourcing.utils import get_topic

from streams.mapping import to_contract


class UnpublishedEventError(LookupError):
    """A trip event without a published contract (the event coverage test forbids it)."""


def history_entries(events: Iterable[object]) -> list[dict[str, Any]]:
    """One entry per event: its version, contract name and schema version, when, who, on
    behalf of which request, what caused it (an event or an acceptance of a draft: None for
    a person's own request), and `changes`, the contract's payload."""
    entries = []
    for event in events:
        mapped = to_contract(get_topic(type(event)), event)
        if mapped is None:
            raise UnpublishedEventError(type(event).__qualname__)
        contract = mapped[1].model_dump(mode="json")
        entries.append(
            {
                "version": contract["aggregate_version"],
                "event_type": contract["event_type"],
                "schema_version": contract["schema_version"],
                "event_id": contract["event_id"],
                "occurred_at": contract["occurred_at"],
                "actor_id": contract["actor_id"],
                "correlation_id": contract["correlation_id"],
                "causation_id": _text(getattr(event, "causation_id", None)),
                "changes": contract["payload"],
            }
        )
    return entries


def _text(value: object) -> str | None:
    return None if value is None else str(value)
