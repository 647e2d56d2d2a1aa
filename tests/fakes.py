"""In-memory fakes of our ports, for fast unit tests (they pass the same contract suites)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID

import orjson
import pydantic_core

from projections.engine.ports import (
    Change,
    Current,
    DeadLetter,
    LaneMark,
    LaneOffset,
    StoreRefusedError,
    TransientStoreError,
)
from projections.trip_views import trip_list_entries
from read_side.documents import TripDocument, UserDocument
from read_side.errors import InvalidCursorError
from read_side.served import served_trip, with_members
from read_side.store import ANY_TRIP, ServedTrip, ServedTripPage, StoredTrip, TripFilter
from read_side.users import UserProfilePage, UserProfileView
from read_side.views import TripSummary, TripSummaryPage, TripView

S = TypeVar("S")


class DataRefusedError(StoreRefusedError):
    """What a fake store raises for a state it was told to refuse (as PostgreSQL refuses a
    NUL character): a data error, not an outage."""


@dataclass
class _Tables(Generic[S]):
    states: dict[UUID, S] = field(default_factory=dict)
    tracking: dict[UUID, tuple[int, bool]] = field(default_factory=dict)
    letters: dict[tuple[UUID, int | None, int], DeadLetter] = field(default_factory=dict)
    lanes: dict[str, LaneOffset] = field(default_factory=dict)
    heads: dict[str, int] = field(default_factory=dict)


class InMemoryProjectionStore(Generic[S]):
    """A projection's store in memory: batches are atomic (a failed one changes nothing) and
    serialised. Faults can be injected: `outages` batches fail as if the store were down, and
    states for which `refuse` returns True are refused like bad data."""

    def __init__(self) -> None:
        self.tables: _Tables[S] = _Tables()
        self.outages = 0
        self.refuse: Any = lambda state: False
        self.commits = 0
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[_MemoryBatch[S]]:
        async with self._lock:
            if self.outages > 0:
                self.outages -= 1
                raise TransientStoreError("store unavailable (injected)")
            staged = copy.copy(self.tables)
            staged.states = dict(staged.states)
            staged.tracking = dict(staged.tracking)
            staged.letters = dict(staged.letters)
            staged.lanes = dict(staged.lanes)
            batch = _MemoryBatch(staged, self.refuse)
            yield batch
            self.tables = staged
            self.commits += 1

    async def offsets(self) -> dict[str, LaneOffset]:
        return dict(self.tables.lanes)

    async def report_heads(self, heads: Mapping[str, int]) -> None:
        self.tables.heads.update(heads)

    def letters(self) -> list[DeadLetter]:
        return sorted(self.tables.letters.values(), key=lambda d: d.aggregate_version or 0)

    def parked(self) -> set[UUID]:
        return {key for key, (_, parked) in self.tables.tracking.items() if parked}


class _MemoryBatch(Generic[S]):
    def __init__(self, tables: _Tables[S], refuse: Any) -> None:
        self._t = tables
        self._refuse = refuse

    async def load(self, ids: Sequence[UUID]) -> dict[UUID, Current[S]]:
        return {
            i: Current(*self._t.tracking[i], state=self._t.states.get(i))
            for i in ids
            if i in self._t.tracking
        }

    async def save(self, changes: Mapping[UUID, Change[S]]) -> None:
        for aggregate_id, change in changes.items():
            if change.state is not None and self._refuse(change.state):
                raise DataRefusedError(f"refused the state of {aggregate_id}")
            parked = self._t.tracking.get(aggregate_id, (0, False))[1]
            self._t.tracking[aggregate_id] = (change.version, parked)
            if change.state is None:
                self._t.states.pop(aggregate_id, None)
            else:
                self._t.states[aggregate_id] = copy.deepcopy(change.state)

    async def park(self, aggregate_id: UUID, version: int, letters: Sequence[DeadLetter]) -> None:
        self._t.tracking[aggregate_id] = (version, True)
        for letter in letters:
            key = (letter.aggregate_id, letter.aggregate_version, 0)
            if letter.aggregate_version is None:
                key = (letter.aggregate_id, None, len(self._t.letters))
            known = self._t.letters.get(key)
            if known is None or letter.failed:
                attempts = letter.attempts + (known.attempts if known else 0)
                self._t.letters[key] = DeadLetter(**{**letter.__dict__, "attempts": attempts})

    async def unpark(self, aggregate_id: UUID) -> None:
        self._t.letters = {k: v for k, v in self._t.letters.items() if k[0] != aggregate_id}
        if aggregate_id in self._t.tracking:
            self._t.tracking[aggregate_id] = (self._t.tracking[aggregate_id][0], False)

    async def forget(self, aggregate_id: UUID) -> None:
        self._t.states.pop(aggregate_id, None)
        self._t.tracking.pop(aggregate_id, None)

    async def mark(self, marks: Sequence[LaneMark]) -> None:
        for mark in marks:
            known = self._t.lanes.get(mark.lane, LaneOffset(0, -1))
            self._t.lanes[mark.lane] = max(known, LaneOffset(mark.transaction, mark.offset))


class InMemoryTripReadStore:
    """Reads what the trip views projection stored in an InMemoryProjectionStore (members'
    profiles from `users`, when given)."""

    def __init__(
        self,
        source: InMemoryProjectionStore[TripDocument],
        users: InMemoryProjectionStore[UserDocument] | None = None,
    ) -> None:
        self._source = source
        self._users = users

    async def served_trip(self, trip_id: UUID, viewer_id: UUID) -> ServedTrip | None:
        document = self._source.tables.states.get(trip_id)
        if document is None:
            return None
        profiles = self._users.tables.states if self._users is not None else {}
        members = []
        for member in document["members"]:
            profile = profiles.get(UUID(member["user_id"]))
            username = profile["username"] if profile else None
            avatar = profile["avatar_url"] if profile else None
            members.append({**member, "username": username, "avatar": avatar})
        return ServedTrip(
            data=with_members(served_trip(document), orjson.dumps(members).decode()),
            version=document["version"],
            parked=self._source.tables.tracking.get(trip_id, (0, False))[1],
            readable=TripView.model_validate(document).readable_by(viewer_id),
            stream_version=None,  # the event store is not here
        )

    def _stored(self, trip_id: UUID) -> StoredTrip | None:
        document = self._source.tables.states.get(trip_id)
        if document is None:
            return None
        parked = self._source.tables.tracking.get(trip_id, (0, False))[1]
        return StoredTrip(TripView.model_validate(document), parked)

    async def view_version(self, trip_id: UUID) -> tuple[int, bool] | None:
        document = self._source.tables.states.get(trip_id)
        if document is None:
            return None
        return document["version"], self._source.tables.tracking.get(trip_id, (0, False))[1]

    async def get_trip(self, trip_id: UUID) -> StoredTrip | None:
        return self._stored(trip_id)

    async def trip_holding(self, entity_id: UUID) -> StoredTrip | None:
        wanted = str(entity_id)
        for trip_id, document in self._source.tables.states.items():
            for destination in document["destinations"]:
                if destination["id"] == wanted or any(
                    a["id"] == wanted for a in destination["activities"]
                ):
                    return self._stored(trip_id)
        return None

    async def list_trips(
        self, user_id: UUID, limit: int, after: str | None, where: TripFilter = ANY_TRIP
    ) -> TripSummaryPage:
        rows = []
        for trip_id, document in self._source.tables.states.items():
            for entry in trip_list_entries(document):
                summary = TripSummary.model_validate(
                    {**entry, "version": document["version"], "updated_at": document["updated_at"]}
                )
                if (
                    summary.user_id == user_id
                    and where.status in (None, summary.status)
                    and where.role in (None, summary.role)
                    and (where.from_date is None or summary.end_date >= where.from_date)
                    and (where.to_date is None or summary.start_date <= where.to_date)
                ):
                    rows.append((summary, self._source.tables.tracking[trip_id][1]))
        rows.sort(key=lambda r: (r[0].start_date, str(r[0].trip_id)))
        if after is not None:
            try:
                start, trip = after.split("|")
            except ValueError:
                raise InvalidCursorError("Malformed cursor") from None
            rows = [
                r for r in rows if (r[0].start_date.isoformat(), str(r[0].trip_id)) > (start, trip)
            ]
        page = rows[:limit]
        more = len(rows) > limit
        last = page[-1][0] if page else None
        cursor = f"{last.start_date.isoformat()}|{last.trip_id}" if more and last else None
        return TripSummaryPage(
            items=tuple(s for s, _ in page),
            next_cursor=cursor,
            parked=frozenset(s.trip_id for s, parked in page if parked),
        )

    async def served_trip_list(
        self, user_id: UUID, limit: int, after: str | None, where: TripFilter = ANY_TRIP
    ) -> ServedTripPage:
        page = await self.list_trips(user_id, limit, after, where)
        return ServedTripPage(
            data=pydantic_core.to_json(list(page.items)).decode(),
            next_cursor=page.next_cursor,
            parked=bool(page.parked),
        )


class InMemoryUserDirectory:
    def __init__(self, source: InMemoryProjectionStore[UserDocument]) -> None:
        self._source = source

    def _profiles(self) -> list[UserProfileView]:
        return [UserProfileView.model_validate(d) for d in self._source.tables.states.values()]

    async def get_user(self, user_id: UUID) -> UserProfileView | None:
        document = self._source.tables.states.get(user_id)
        return None if document is None else UserProfileView.model_validate(document)

    async def usernames(self, user_ids: Collection[UUID]) -> dict[UUID, str]:
        documents = self._source.tables.states
        return {i: str(documents[i]["username"]) for i in user_ids if i in documents}

    async def profiles(self, user_ids: Collection[UUID]) -> dict[UUID, UserProfileView]:
        documents = self._source.tables.states
        return {i: UserProfileView.model_validate(documents[i]) for i in user_ids if i in documents}

    async def search_users(self, prefix: str, limit: int, after: str | None) -> UserProfilePage:
        p = prefix.lower()
        rows = sorted(
            (
                u
                for u in self._profiles()
                if u.is_active
                and any(n.lower().startswith(p) for n in (u.username, u.first_name, u.last_name))
            ),
            key=lambda u: (u.username.lower(), str(u.id)),
        )
        if after is not None:
            name, _, user_id = after.rpartition("|")
            if not name:
                raise InvalidCursorError("Malformed cursor")
            rows = [u for u in rows if (u.username.lower(), str(u.id)) > (name, user_id)]
        page = rows[:limit]
        cursor = f"{page[-1].username.lower()}|{page[-1].id}" if len(rows) > limit else None
        return UserProfilePage(items=tuple(page), next_cursor=cursor)


class MemoryLog:
    """An event source over an in-memory eventsourcing application (tests' event store)."""

    def __init__(self, application: Any) -> None:
        from streams.outbox import OutboxReader

        self._outbox = OutboxReader(application)

    def events_of(self, aggregate_id: UUID, after_version: int) -> list[Any]:
        return self._outbox.events_of(aggregate_id, after_version)
