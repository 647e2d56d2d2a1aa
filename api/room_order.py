"""What a chat socket owes its client: every message of the room once, in room order.

Messages reach a socket by the live feed, from any API instance, in any order, at most
once. The socket keeps the last sequence it sent: it drops what it already sent, and before
a message ahead of the next one it reads the missing ones from the event store (another
instance published first, or a publish was lost with its process).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool

from api.chat_delivery import chat_message, views_of
from api.socket_auth import TOO_SLOW, Closing
from read_side.users import UserDirectory
from write_side.chat.service import Chat

MAX_GAP = 500  # messages a socket fills from the event store at once; beyond, it resyncs


class RoomOrder:
    def __init__(
        self, chat: Chat, users: UserDirectory, trip_id: UUID, put: Callable[[dict[str, Any]], None]
    ) -> None:
        self._chat = chat
        self._users = users
        self._trip_id = trip_id
        self._put = put
        self.last_seq = 0  # the newest message sent to the client

    async def message(self, seq: int, body: dict[str, Any]) -> None:
        """A message broadcast live: sent after any it skipped, unless already sent."""
        if seq <= self.last_seq:
            return
        if seq > self.last_seq + 1:
            await self.fill(seq - 1)
        self._put(body)
        self.last_seq = seq

    async def fill_to_head(self) -> None:
        await self.fill(await run_in_threadpool(self._chat.head, self._trip_id))

    async def fill(self, upto: int) -> None:
        """Send the messages after the last one sent, up to `upto`, from the event store."""
        if upto - self.last_seq > MAX_GAP:
            raise Closing(TOO_SLOW, "too far behind the room: subscribe again with `after`")
        posted = await run_in_threadpool(self._chat.messages, self._trip_id, self.last_seq, upto)
        for view in await views_of(self._users, posted):
            self._put(chat_message(view))
            self.last_seq = view.seq
