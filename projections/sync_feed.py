"""The sync feed: what offline clients pull. Pure; no I/O.

Its state per source aggregate is the one the trip views and chat history fold (the same
handlers, the same events): a trip's document, or a message's. What the feed stores is
derived from each change of that state, entity by entity: `feed_rows(before, after)` says
which trips, destinations, activities and messages changed (in their latest state, with the
version of the stream that changed them) and which are gone (tombstones). The store adapter
numbers those rows per trip, in commit order: the positions a cursor counts in.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict, cast

from projections.chat_history import CHAT_HISTORY
from projections.engine.projection import Projection
from projections.trip_views import TRIP_VIEWS
from read_side.documents import MessageDocument, TripDocument
from streams.topics import CHAT_EVENTS, TRIP_EVENTS

SyncSource = TripDocument | MessageDocument
EntityKind = Literal["trip", "destination", "activity", "message"]

# Changes of these alone are not changes of the entity (every trip event stamps them).
_STAMPS = frozenset({"version", "updated_at"})


class FeedRow(TypedDict):
    entity_type: EntityKind
    entity_id: str
    trip_id: str
    version: int  # of the stream that changed it: the trip's (its entities), the message's
    deleted: bool
    data: dict[str, Any] | None  # None: a tombstone


def is_trip(state: SyncSource) -> bool:
    return "destinations" in state


def _begin(state: SyncSource) -> SyncSource:
    if is_trip(state):
        return TRIP_VIEWS.begin(cast(TripDocument, state))
    return CHAT_HISTORY.begin(cast(MessageDocument, state))


def _finish(state: SyncSource) -> SyncSource:
    if is_trip(state):
        return TRIP_VIEWS.finish(cast(TripDocument, state))
    return state


SYNC_FEED: Projection[SyncSource] = Projection(
    name="sync_feed",
    version=1,
    topics=(TRIP_EVENTS, CHAT_EVENTS),
    begin=_begin,
    finish=_finish,
    # Each handler only ever gets the state of its own aggregate: a trip's, or a message's.
    handlers={**TRIP_VIEWS.handlers, **CHAT_HISTORY.handlers},  # type: ignore[dict-item]
    ignored=TRIP_VIEWS.ignored | CHAT_HISTORY.ignored,
)


def entities(state: SyncSource | None) -> dict[str, tuple[EntityKind, dict[str, Any]]]:
    """Each entity a state holds, by id: a trip (without its destinations), its
    destinations (without their activities) and activities; or one message."""
    if state is None:
        return {}
    if not is_trip(state):
        message = cast(MessageDocument, state)
        return {message["id"]: ("message", dict(message))}
    trip = cast(TripDocument, state)
    found: dict[str, tuple[EntityKind, dict[str, Any]]] = {}
    head = {k: v for k, v in trip.items() if k != "destinations"}
    found[trip["id"]] = ("trip", head)
    for destination in trip["destinations"]:
        body = {k: v for k, v in destination.items() if k != "activities"}
        found[destination["id"]] = ("destination", body)
        for activity in destination["activities"]:
            found[activity["id"]] = ("activity", {**activity, "trip_id": trip["id"]})
    return found


def feed_rows(before: SyncSource | None, after: SyncSource | None) -> list[FeedRow]:
    """The entities that changed from `before` to `after` (latest state, stamped with the
    stream's version) and those gone (tombstones)."""
    if after is None:
        return []
    version = after["version"]
    trip_id = after["id"] if is_trip(after) else cast(MessageDocument, after)["trip_id"]
    old, new = entities(before), entities(after)
    rows: list[FeedRow] = []
    for entity_id, (kind, data) in new.items():
        previous = old.get(entity_id)
        if previous is not None and _same(previous[1], data):
            continue
        rows.append(
            FeedRow(
                entity_type=kind,
                entity_id=entity_id,
                trip_id=trip_id,
                version=version,
                deleted=False,
                data={**data, "version": version},
            )
        )
    for entity_id, (kind, _) in old.items():
        if entity_id not in new:
            rows.append(
                FeedRow(
                    entity_type=kind,
                    entity_id=entity_id,
                    trip_id=trip_id,
                    version=version,
                    deleted=True,
                    data=None,
                )
            )
    return rows


def members(state: SyncSource | None) -> set[str]:
    """Who may pull a trip: its members (nobody's, for a message)."""
    if state is None or not is_trip(state):
        return set()
    return {member["user_id"] for member in cast(TripDocument, state)["members"]}


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return {k: v for k, v in a.items() if k not in _STAMPS} == {
        k: v for k, v in b.items() if k not in _STAMPS
    }
