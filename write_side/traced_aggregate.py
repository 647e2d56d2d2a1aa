"""An eventsourcing Aggregate whose events all carry the acting user and correlation id, and
what caused them: the event a process manager reacted to, the request's trace context."""

from __future__ import annotations

from dataclasses import field
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from write_side.context import current_context


class TracedAggregate(Aggregate):
    class Event(Aggregate.Event):
        actor_id: UUID
        correlation_id: UUID
        # Keyword-only with defaults: events stored before they existed decode with None.
        causation_id: UUID | None = field(default=None, kw_only=True)
        traceparent: str | None = field(default=None, kw_only=True)

    @classmethod
    def _create(cls, event_class: Any, *, id: Any = None, **kwargs: Any) -> Any:
        context = current_context()
        return super()._create(
            event_class,
            id=id,
            actor_id=context.actor_id,
            correlation_id=context.correlation_id,
            causation_id=context.causation_id,
            traceparent=context.traceparent,
            **kwargs,
        )

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        context = current_context()
        super().trigger_event(
            event_class,
            actor_id=context.actor_id,
            correlation_id=context.correlation_id,
            causation_id=context.causation_id,
            traceparent=context.traceparent,
            **kwargs,
        )
