"""A projection, declared: its name and version, the topics it reads, and one handler per
event type it applies (every other event type of those topics is explicitly ignored).

A projection keeps one state per source aggregate (a trip's view, a user's profile): the
engine folds that aggregate's events, in version order, into its state. The fold is pure:
handlers change a working copy that `begin` made, `finish` turns it into the state to store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from streams.contracts import EventEnvelope

S = TypeVar("S")
E = TypeVar("E", bound=EventEnvelope)

Handler = Callable[[S | None, E], S]


class UnmappedEventError(TypeError):
    """An event type the projection has made no decision about: a new event must be mapped
    (applied or ignored) before it can be projected."""

    def __init__(self, projection: str, event: EventEnvelope) -> None:
        super().__init__(f"projection {projection!r} has no decision for {event.event_type}")


class MissingStateError(ValueError):
    """An event that changes existing state arrived for an aggregate with none."""

    def __init__(self, event: EventEnvelope) -> None:
        super().__init__(
            f"{event.event_type} v{event.aggregate_version} of {event.aggregate_id} "
            "has no state to change"
        )


def _same(state: Any) -> Any:
    return state


@dataclass
class Projection(Generic[S]):
    """Declare one at module level, then register handlers with `@projection.applies(...)`."""

    name: str
    version: int
    topics: tuple[str, ...]
    begin: Callable[[S], S] = _same  # a working copy handlers may change in place
    finish: Callable[[S], S] = _same  # the state to store, from the working copy
    handlers: dict[type[EventEnvelope], Handler[S, Any]] = field(default_factory=dict)
    ignored: frozenset[type[EventEnvelope]] = frozenset()
    # Seconds its changes may gather before they are applied (after a batch, the next one
    # waits that long): a burst of writes to an aggregate is applied in one batch, so work
    # done per changed aggregate (embedding a trip's text) is done once, not per write.
    gather_seconds: float = 0.0

    def applies(self, event_type: type[E]) -> Callable[[Handler[S, E]], Handler[S, E]]:
        def register(handler: Handler[S, E]) -> Handler[S, E]:
            self.handlers[event_type] = handler
            return handler

        return register

    def ignores(self, *event_types: type[EventEnvelope]) -> None:
        self.ignored = self.ignored | frozenset(event_types)

    def decides(self, event_type: type[EventEnvelope]) -> bool:
        return event_type in self.handlers or event_type in self.ignored

    def fold(self, events: Iterable[EventEnvelope], state: S | None) -> S | None:
        """The state after `events` (in version order), without changing `state`."""
        draft = None if state is None else self.begin(state)
        for event in events:
            handler = self.handlers.get(type(event))
            if handler is not None:
                draft = handler(draft, event)
            elif type(event) not in self.ignored:
                raise UnmappedEventError(self.name, event)
        return None if draft is None else self.finish(draft)

    def fold_until_failure(
        self, events: Sequence[EventEnvelope], state: S | None
    ) -> tuple[S | None, int, Exception | None]:
        """Fold one event at a time: the state reached, how many events it applied, and the
        error of the next one (None when all applied)."""
        current = state
        for index, event in enumerate(events):
            try:
                current = self.fold((event,), current)
            except Exception as error:
                return current, index, error
        return current, len(events), None
