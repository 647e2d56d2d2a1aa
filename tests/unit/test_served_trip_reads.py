"""`served_reads.trip_to_serve`: a trip served as stored, waiting for its view where a read must
(read-your-writes) without loading the view or asking the event store; past the wait, served
as stored and marked stale on the event store's word; what it cannot settle goes to
`trip_detail`, within what is left of the wait."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import Counter
from uuid import UUID, uuid4

import pytest

from read_side import queries, served_reads
from read_side.errors import TripViewNotFoundError
from read_side.store import ServedTrip, StoredTrip, TripReadStore
from streams.contracts import MemberRemoved, MemberRemovedPayload
from tests.builders import details_updated, envelope, member_added, trip_created
from tests.projected import Projected, in_memory_projected

pytestmark = pytest.mark.anyio


class EventStoreAt:
    """The event store's word: the trip is at `version`; every question is counted."""

    def __init__(self, version: int) -> None:
        self.version_of = version
        self.refused: set[UUID] = set()
        self.asked: Counter[str] = Counter()

    async def readable_by(self, trip_id: UUID, user_id: UUID) -> bool:
        self.asked["readable_by"] += 1
        return user_id not in self.refused

    async def version(self, trip_id: UUID) -> int | None:
        self.asked["version"] += 1
        return self.version_of


class ServedBeside:
    """The memory read store, answering the stream's version in the served read as the
    PostgreSQL one does (from the event store, in the same statement); loads counted."""

    def __init__(self, store: TripReadStore, events: EventStoreAt) -> None:
        self._store = store
        self._events = events
        self.loads = 0
        self.looks = 0  # at the view's version alone

    async def served_trip(self, trip_id: UUID, viewer_id: UUID) -> ServedTrip | None:
        served = await self._store.served_trip(trip_id, viewer_id)
        if served is None:
            return None
        return dataclasses.replace(served, stream_version=self._events.version_of)

    async def view_version(self, trip_id: UUID) -> tuple[int, bool] | None:
        self.looks += 1
        return await self._store.view_version(trip_id)

    async def get_trip(self, trip_id: UUID) -> StoredTrip | None:
        self.loads += 1
        return await self._store.get_trip(trip_id)


class Commits:
    """trip_views' commit notices, given by hand."""

    def __init__(self) -> None:
        self._seen = 0
        self._changed = asyncio.Condition()
        self._versions: dict[UUID, int] = {}

    def ticket(self, projection: str, aggregate: UUID | None = None) -> int:
        return self._seen

    def version_heard(self, projection: str, aggregate: UUID) -> int | None:
        return self._versions.get(aggregate)

    async def wait(
        self, projection: str, ticket: int, timeout: float, aggregate: UUID | None = None
    ) -> None:
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self._seen != ticket), timeout
                )

    async def commit(self, trip_id: UUID | None = None, version: int | None = None) -> None:
        """A commit's notice; of `trip_id` at `version`, if given (else it says no version)."""
        async with self._changed:
            if trip_id is not None and version is not None:
                self._versions[trip_id] = version
            self._seen += 1
            self._changed.notify_all()


@dataclasses.dataclass
class Scene:
    """A trip at version 2 (its owner and a guest), its view and the event store agreeing."""

    models: Projected
    store: ServedBeside
    events: EventStoreAt
    commits: Commits
    reading: queries.Reading
    trip_id: UUID
    owner: UUID
    guest: UUID


async def _scene(timeout: float = 10.0) -> Scene:
    models = in_memory_projected()
    trip_id, owner, guest = uuid4(), uuid4(), uuid4()
    await models.apply(
        trip_created(trip_id, owner), member_added(trip_id, 2, owner, guest, "viewer")
    )
    events = EventStoreAt(2)
    store = ServedBeside(models.trips, events)
    commits = Commits()
    reading = queries.Reading(store, events, changes=commits, timeout=timeout)  # type: ignore[arg-type]
    return Scene(models, store, events, commits, reading, trip_id, owner, guest)


async def test_a_current_view_is_served_in_one_read() -> None:
    scene = await _scene()
    found = await served_reads.trip_to_serve(scene.reading, scene.trip_id, scene.guest)
    assert isinstance(found, ServedTrip) and found.version == 2
    assert (scene.store.loads, scene.events.asked) == (0, Counter())


async def test_a_view_behind_is_waited_for_then_served_as_stored() -> None:
    scene = await _scene()
    scene.events.version_of = 3  # a write finished; its projection has not committed yet
    read = asyncio.create_task(
        served_reads.trip_to_serve(scene.reading, scene.trip_id, scene.guest)
    )
    await asyncio.sleep(0.05)
    assert not read.done()

    await scene.models.apply(details_updated(scene.trip_id, 3, scene.owner, "Renamed"))
    await scene.commits.commit()
    found = await asyncio.wait_for(read, 5)
    assert isinstance(found, ServedTrip) and found.version == 3
    assert '"title":"Renamed"' in found.data
    # Nothing decoded, the event store not asked: the served read carried its version. The
    # view's version was looked at once, after the notice (which said none), not before.
    assert (scene.store.loads, scene.events.asked) == (0, Counter())
    assert scene.store.looks == 1


async def test_a_notice_saying_the_version_was_reached_ends_the_wait_without_a_look() -> None:
    scene = await _scene()
    scene.events.version_of = 4
    read = asyncio.create_task(
        served_reads.trip_to_serve(scene.reading, scene.trip_id, scene.guest)
    )
    await asyncio.sleep(0.05)
    await scene.models.apply(details_updated(scene.trip_id, 3, scene.owner, "Once"))
    await scene.commits.commit(scene.trip_id, 3)  # not yet: still waiting, nothing looked at
    await asyncio.sleep(0.05)
    assert not read.done()

    await scene.models.apply(details_updated(scene.trip_id, 4, scene.owner, "Twice"))
    await scene.commits.commit(scene.trip_id, 4)
    found = await asyncio.wait_for(read, 5)
    assert isinstance(found, ServedTrip) and found.version == 4
    assert '"title":"Twice"' in found.data
    assert scene.store.looks == 0


async def test_a_member_removed_meanwhile_is_refused_once_the_view_shows_it() -> None:
    scene = await _scene()
    scene.events.version_of = 3  # the guest was removed; the older view lists them
    read = asyncio.create_task(
        served_reads.trip_to_serve(scene.reading, scene.trip_id, scene.guest)
    )
    await asyncio.sleep(0.05)
    removed = MemberRemoved(
        **envelope(scene.trip_id, 3, scene.owner),  # type: ignore[arg-type]
        payload=MemberRemovedPayload(user_id=scene.guest),
    )
    await scene.models.apply(removed)
    await scene.commits.commit()
    with pytest.raises(TripViewNotFoundError):
        await asyncio.wait_for(read, 5)


async def test_a_view_that_never_comes_is_served_stale_within_the_one_wait() -> None:
    scene = await _scene(timeout=0.2)
    scene.events.version_of = 3  # never projected
    found = await served_reads.trip_to_serve(scene.reading, scene.trip_id, scene.guest)
    assert isinstance(found, ServedTrip)
    assert (found.stale_reason, found.version) == (queries.BEHIND, 2)
    # Served as stored, nothing decoded, on the event store's word (not the older view's).
    assert scene.store.loads == 0
    assert scene.events.asked["readable_by"] == 1


async def test_a_view_that_never_comes_is_refused_if_the_event_store_refuses() -> None:
    """The older view still lists the guest; the write it misses removed them: the stale
    view must not let them read the trip."""
    scene = await _scene(timeout=0.2)
    scene.events.version_of = 3  # the removal, never projected
    scene.events.refused.add(scene.guest)
    with pytest.raises(TripViewNotFoundError):
        await served_reads.trip_to_serve(scene.reading, scene.trip_id, scene.guest)


async def test_a_stranger_is_left_to_the_event_store() -> None:
    scene = await _scene()
    scene.events.version_of = 3
    stranger = uuid4()
    # The older view does not list them: trip_detail asks the event store (which says yes
    # here: a member added by the write not yet projected), and waits within what is left.
    found = await served_reads.trip_to_serve(
        dataclasses.replace(scene.reading, timeout=0.1), scene.trip_id, stranger
    )
    assert isinstance(found, queries.Consistent) and found.stale
    assert scene.events.asked["readable_by"] >= 1
