"""Who is acting, and on behalf of which request: metadata recorded in every event."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from uuid import NAMESPACE_URL, UUID, uuid5


@dataclass(frozen=True)
class CommandKey:
    """The client's own name for a command (an `Idempotency-Key`, a sync mutation id) and a
    digest of what it asked: the command runs once per key, a retry gets the first result."""

    key: str
    fingerprint: str


@dataclass(frozen=True)
class CommandContext:
    """`causation_id`: the event this command reacts to (a process manager's), None for a
    person's request; `traceparent`: the W3C trace context the request came with, if any."""

    actor_id: UUID
    correlation_id: UUID
    key: CommandKey | None = None
    causation_id: UUID | None = None
    traceparent: str | None = None


SYSTEM = UUID(int=0)  # the actor of what no user did (a timer, a job, an operator's CLI)


def event_id_of(aggregate_id: UUID, version: int) -> UUID:
    """A stored event's id as it is published (stable, so a message published twice carries
    the same id): what a `causation_id` names."""
    return uuid5(NAMESPACE_URL, f"/events/{aggregate_id}/{version}")


_current: ContextVar[CommandContext] = ContextVar("command_context")


@contextmanager
def acting_as(context: CommandContext) -> Iterator[None]:
    """Every event triggered inside this block records the context's actor and correlation id."""
    token = _current.set(context)
    try:
        yield
    finally:
        _current.reset(token)


def current_context() -> CommandContext:
    try:
        return _current.get()
    except LookupError:
        raise RuntimeError("An event was triggered outside acting_as(...)") from None
