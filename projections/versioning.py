"""The rule every projection follows: apply each aggregate version once, in order."""

from __future__ import annotations

from streams.contracts import EventEnvelope


class ProjectionGapError(RuntimeError):
    """An event arrived whose predecessor was never applied: the view would be wrong."""

    def __init__(self, event: EventEnvelope, current_version: int | None) -> None:
        super().__init__(
            f"{event.event_type} v{event.aggregate_version} of {event.aggregate_id} "
            f"follows stored version {current_version}"
        )


def is_next(event: EventEnvelope, current_version: int | None) -> bool:
    """True if `event` is the version after `current_version`; False if it was already
    applied (a redelivery); raises if versions were skipped."""
    if current_version is not None and event.aggregate_version <= current_version:
        return False
    if event.aggregate_version != (current_version or 0) + 1:
        raise ProjectionGapError(event, current_version)
    return True
