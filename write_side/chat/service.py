"""The chat application service: post and edit messages, find a room's newest sequence.

Posting loads the trip (who may write), takes the room's next slot and saves the message
with the command's record in one atomic write; a lost race for the slot moves to the next.
"""

from __future__ import annotations

from collections import OrderedDict
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from write_side.chat.commands import EditMessage, PostedMessage, PostMessage
from write_side.chat.message import ChatMessage, MessageType, slot_id
from write_side.context import CommandContext, acting_as
from write_side.errors import (
    ConcurrencyConflictError,
    MessageNotFoundError,
    ReplyOutsideRoomError,
    TripNotFoundError,
)
from write_side.event_store import EventStore
from write_side.trips.command_record import earlier_result, records_of
from write_side.trips.commands import CommandResult
from write_side.trips.trip import Trip

MAX_SLOT_RACES = 50  # messages posted by others while one post retries
MAX_EDIT_RETRIES = 5
ROOMS_REMEMBERED = 10_000  # rooms whose newest sequence this process keeps as a hint


class Chat:
    def __init__(self, events: EventStore) -> None:
        self.events = events
        # The newest sequence seen per room: a lower bound of the truth (slots are never
        # freed), so `head` only probes forward from it.
        self._heads: OrderedDict[UUID, int] = OrderedDict()

    def post(self, command: PostMessage, context: CommandContext) -> PostedMessage:
        if (earlier := self._earlier(context)) is not None:
            return earlier
        self.check_member(command.trip_id, context.actor_id)
        return self._post(command, context)

    def announce(
        self, trip_id: UUID, content: str, context: CommandContext
    ) -> PostedMessage | None:
        """A system message, in the name of whoever caused it (`context`, keyed by the event
        it announces). None: the trip is gone or archived, its room closed."""
        if (earlier := self._earlier(context)) is not None:
            return earlier
        trip = self.events.current(trip_id, Trip)
        if trip is None or trip.archived:
            return None
        return self._post(PostMessage(trip_id, content, MessageType.SYSTEM), context)

    def _post(self, command: PostMessage, context: CommandContext) -> PostedMessage:
        if command.reply_to is not None:
            original = self.events.find(command.reply_to, ChatMessage)
            if original is None or original.trip_id != command.trip_id:
                raise ReplyOutsideRoomError(command.reply_to)
        seq = self.head(command.trip_id) + 1
        for _ in range(MAX_SLOT_RACES):
            with acting_as(context):
                message = ChatMessage.post(
                    trip_id=command.trip_id,
                    seq=seq,
                    sender_id=context.actor_id,
                    content=command.content,
                    message_type=command.message_type,
                    reply_to=command.reply_to,
                )
                result = CommandResult(message.id, command.trip_id, message.version)
                records = records_of(context, result)
            try:
                self.events.save(message, *records)
            except IntegrityError:
                if (earlier := self._earlier(context)) is not None:
                    return earlier
                self._saw(command.trip_id, seq)
                seq = self.head(command.trip_id) + 1
                continue
            self._saw(command.trip_id, seq)
            return PostedMessage.of(message)
        raise ConcurrencyConflictError(command.trip_id)

    def edit(self, command: EditMessage, context: CommandContext) -> PostedMessage:
        if (earlier := self._earlier(context)) is not None:
            return earlier
        for _ in range(MAX_EDIT_RETRIES):
            message = self.message(command.message_id)
            if message.trip_id != command.trip_id:
                raise MessageNotFoundError(command.message_id)
            try:
                self.check_member(message.trip_id, context.actor_id)
            except TripNotFoundError:
                raise MessageNotFoundError(command.message_id) from None
            with acting_as(context):
                message.edit(context.actor_id, command.content)
                result = CommandResult(message.id, message.trip_id, message.version)
                records = records_of(context, result)
            try:
                self.events.save(message, *records)
            except IntegrityError:
                if (earlier := self._earlier(context)) is not None:
                    return earlier
                continue
            return PostedMessage.of(message)
        raise ConcurrencyConflictError(command.message_id)

    def check_member(self, trip_id: UUID, user_id: UUID) -> Trip:
        """The trip, if `user_id` is one of its members and it is not archived. A room is
        members-only, also on a public trip: anyone else finds no room (404)."""
        trip = self.events.current(trip_id, Trip)
        if trip is None or trip.archived or user_id not in trip.members:
            raise TripNotFoundError(trip_id)
        return trip

    def message(self, message_id: UUID) -> ChatMessage:
        message = self.events.find(message_id, ChatMessage)
        if message is None:
            raise MessageNotFoundError(message_id)
        return message

    def messages(self, trip_id: UUID, after: int, upto: int) -> list[PostedMessage]:
        """The room's messages with sequences in (after, upto], from the event store."""
        found = []
        for seq in range(after + 1, upto + 1):
            message = self.events.find(slot_id(trip_id, seq), ChatMessage)
            if message is not None:
                found.append(PostedMessage.of(message))
        return found

    def head(self, trip_id: UUID) -> int:
        """The room's newest sequence (0: no message yet). From the hint, probe 1, 2, 4, ...
        slots ahead until one is free, then bisect: a few index lookups, however far
        behind the hint is."""
        known = self._heads.get(trip_id, 0)
        step = 1
        while self._taken(trip_id, known + step):
            known, step = known + step, step * 2
        free = known + step
        while free - known > 1:
            middle = (known + free) // 2
            if self._taken(trip_id, middle):
                known = middle
            else:
                free = middle
        self._saw(trip_id, known)
        return known

    def _taken(self, trip_id: UUID, seq: int) -> bool:
        return self.events.exists(slot_id(trip_id, seq))

    def _saw(self, trip_id: UUID, seq: int) -> None:
        self._heads[trip_id] = max(seq, self._heads.get(trip_id, 0))
        self._heads.move_to_end(trip_id)
        while len(self._heads) > ROOMS_REMEMBERED:
            self._heads.popitem(last=False)

    def _earlier(self, context: CommandContext) -> PostedMessage | None:
        earlier = earlier_result(self.events, context)
        if earlier is None:
            return None
        return PostedMessage.of(self.message(earlier.id), replayed=True)
