"""The outcome of a command the client named (an `Idempotency-Key`, a sync mutation id).

The record is an aggregate of its own, with an id derived from the user and the key, saved in
the same atomic write as the command's events (as `DestinationIndex` is). So there is never a
key without its outcome or an outcome without its key: a retry after any crash finds either
the result, which it answers again, or nothing, and then the command runs. Two concurrent
requests with one key both try to create the record; the event store accepts one, and the
other, retrying, finds its result.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from write_side.context import CommandContext
from write_side.errors import CommandKeyReusedError
from write_side.event_store import EventStore
from write_side.traced_aggregate import TracedAggregate
from write_side.trips.commands import CommandResult


class CommandRecord(TracedAggregate):
    @event("Recorded")
    def __init__(
        self,
        user_id: UUID,
        key: str,
        fingerprint: str,
        entity_id: UUID,
        trip_id: UUID,
        version: int,
    ) -> None:
        self.user_id = user_id
        self.key = key
        self.fingerprint = fingerprint
        self.entity_id = entity_id
        self.trip_id = trip_id
        self.version = version

    @staticmethod
    def create_id(user_id: UUID, key: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/command-record/{user_id}/{key}")


def earlier_result(events: EventStore, context: CommandContext) -> CommandResult | None:
    """The result of this keyed command if it already ran; None if it did not (or has no
    key). The same key with another request is refused."""
    if context.key is None:
        return None
    record = events.find(CommandRecord.create_id(context.actor_id, context.key.key), CommandRecord)
    if record is None:
        return None
    if record.fingerprint != context.key.fingerprint:
        raise CommandKeyReusedError(context.key.key)
    return CommandResult(record.entity_id, record.trip_id, record.version, replayed=True)


def records_of(context: CommandContext, result: CommandResult) -> tuple[CommandRecord, ...]:
    """The record to save with the command's events: none for a command without a key.
    Call it inside `acting_as(context)`."""
    if context.key is None:
        return ()
    return (
        CommandRecord(
            user_id=context.actor_id,
            key=context.key.key,
            fingerprint=context.key.fingerprint,
            entity_id=result.id,
            trip_id=result.trip_id,
            version=result.version,
        ),
    )
