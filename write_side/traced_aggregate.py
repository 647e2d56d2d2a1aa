"""An eventsourcing Aggregate whose events all carry the acting user and correlation id."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from write_side.context import current_context


class TracedAggregate(Aggregate):
    class Event(Aggregate.Event):
        actor_id: UUID
        correlation_id: UUID

    @classmethod
    def _create(cls, event_class: Any, *, id: Any = None, **kwargs: Any) -> Any:
        context = current_context()
        return super()._create(
            event_class,
            id=id,
            actor_id=context.actor_id,
            correlation_id=context.correlation_id,
            **kwargs,
        )

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        context = current_context()
        super().trigger_event(
            event_class,
            actor_id=context.actor_id,
            correlation_id=context.correlation_id,
            **kwargs,
        )
