"""Sync pokes: when the sync feed commits a change to a trip, each member's notification
sockets on this instance hear `{"type": "sync_poke", "trip_id": ...}` and pull at once.

The feed's batch sends a PostgreSQL NOTIFY, which is delivered on commit only (so a poked
client's pull finds the change), to every API instance listening: each pokes its own
sockets. At most once, like every live signal: clients also pull on their own schedule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import orjson

from read_side.live import LiveFeed, user_channel

log = logging.getLogger(__name__)


def sync_poker(feed: LiveFeed) -> Callable[[str], None]:
    def poke(payload: str) -> None:
        try:
            notice = orjson.loads(payload)
            trip_id, users = str(notice["trip_id"]), notice["users"] or ()
        except (orjson.JSONDecodeError, KeyError, TypeError) as error:
            log.error("unreadable sync notice %r: %s", payload[:200], error)
            return
        body = orjson.dumps({"type": "sync_poke", "trip_id": trip_id})
        for user in users:
            feed.deliver_here(user_channel(user), body)

    return poke
