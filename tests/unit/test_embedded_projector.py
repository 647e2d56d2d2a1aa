from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import date
from functools import partial
from typing import Any, Generic, TypeVar, cast
from uuid import UUID, uuid4

import pytest
from pytest import MonkeyPatch

from projections.embedded import LANE, EmbeddedProjector
from projections.engine.ports import LaneOffset, ProjectionStore
from projections.log_reads import SharedReads
from read_side import queries
from read_side.documents import UserDocument
from streams.outbox import OutboxBatch, OutboxReader
from streams.position import START, LogPosition
from tests.fakes import InMemoryProjectionStore
from tests.projected import Projected, in_memory_projected
from write_side.context import CommandContext
from write_side.event_store import EventStore
from write_side.trips.commands import AddDestination, PlanTrip
from write_side.trips.planner import TripPlanner

pytestmark = pytest.mark.anyio
S = TypeVar("S")
FOREVER = 1_000_000


class Authority:
    async def readable_by(self, trip_id: UUID, user_id: UUID) -> bool:
        return True

    async def version(self, trip_id: UUID) -> int | None:
        return 99


async def test_the_embedded_projector_brings_views_up_to_the_event_store() -> None:
    planner = TripPlanner(EventStore())
    models = in_memory_projected()
    owner = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    trip = planner.plan_trip(PlanTrip("Alps", "", date(2027, 2, 1), date(2027, 2, 9)), owner)
    planner.add_destination(
        AddDestination(
            trip.trip_id,
            "Zermatt",
            "",
            {"lat": 46.0, "lng": 7.7},
            date(2027, 2, 2),
            date(2027, 2, 5),
        ),
        owner,
    )
    projector = EmbeddedProjector(OutboxReader(planner.events), models.appliers())

    assert await projector.catch_up() == 3
    reading = queries.Reading(models.trips, Authority())
    found = await queries.trip_detail(reading, trip.trip_id, owner.actor_id, min_version=2)
    assert not found.stale
    assert [d.name for d in found.view.destinations] == ["Zermatt"]
    for store in (models.trip_store, models.user_store):
        assert await store.offsets() == {LANE: LaneOffset(0, 3)}

    # A new projector (a restart) resumes from the recorded positions: nothing is re-read.
    restarted = EmbeddedProjector(OutboxReader(planner.events), models.appliers())
    assert await restarted.catch_up() == 0
    again = await models.trips.get_trip(trip.trip_id)
    assert again is not None and again.view == found.view


class GatedStore(Generic[S]):
    """A projection's store whose batches first wait for `gate` (a projection slow to apply,
    like one embedding texts), and whose next `bugs` batches fail with an error no store
    raises (a bug of the engine)."""

    def __init__(self, inner: InMemoryProjectionStore[S], gate: asyncio.Event) -> None:
        self._inner = inner
        self._gate = gate
        self.bugs = 0
        self.batches = 0

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[Any]:
        self.batches += 1
        await self._gate.wait()
        if self.bugs > 0:
            self.bugs -= 1
            raise RuntimeError("a bug (injected)")
        async with self._inner.batch() as batch:
            yield batch

    async def offsets(self) -> dict[str, LaneOffset]:
        return await self._inner.offsets()

    async def report_heads(self, heads: Mapping[str, int]) -> None:
        await self._inner.report_heads(heads)


class CountedReads:
    """The log, counting the reads after each position."""

    def __init__(self, reader: OutboxReader) -> None:
        self._reader = reader
        self.reads: Counter[LogPosition] = Counter()

    def read_after(self, position: LogPosition, limit: int) -> OutboxBatch:
        self.reads[position] += 1
        return self._reader.read_after(position, limit)

    def head(self) -> LogPosition:
        return self._reader.head()

    def recorded_head(self) -> LogPosition:
        return self._reader.recorded_head()

    def backlog(self, position: LogPosition) -> int:
        return self._reader.backlog(position)


def _plan(planner: TripPlanner, owner: CommandContext, title: str = "Alps") -> UUID:
    return planner.plan_trip(PlanTrip(title, "", date(2027, 2, 1), date(2027, 2, 9)), owner).trip_id


async def _until(done: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not await done():
            await asyncio.sleep(0.01)


async def _offset(store: ProjectionStore[Any]) -> int | None:
    found = (await store.offsets()).get(LANE)
    return None if found is None else found.offset


async def test_a_slow_projection_holds_no_other_back() -> None:
    planner = TripPlanner(EventStore())
    models = in_memory_projected()
    gate = asyncio.Event()
    slow = GatedStore(cast(InMemoryProjectionStore[UserDocument], models.user_store), gate)
    trips_applier, users_applier = models.appliers()
    users_applier.store = slow
    projector = EmbeddedProjector(OutboxReader(planner.events), [trips_applier, users_applier])
    owner = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    running = asyncio.create_task(projector.run())
    try:
        # Two batches: the second is read only after the first was applied to trip_views.
        for title in ("Alps", "Dolomites"):
            trip_id = _plan(planner, owner, title)
            await _until(partial(_shown, models, trip_id))
        assert await _offset(models.user_store) is None  # still applying its first batch

        gate.set()
        await _until(lambda: _is(_offset(models.user_store), 2))
    finally:
        await projector.stop(running, grace=5)
    assert running.done() and not running.cancelled()


async def test_a_projection_failing_on_a_bug_retries_alone(monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setattr("projections.embedded.RETRY_SECONDS", 0.05)
    planner = TripPlanner(EventStore())
    models = in_memory_projected()
    opened = asyncio.Event()
    opened.set()
    failing = GatedStore(cast(InMemoryProjectionStore[UserDocument], models.user_store), opened)
    failing.bugs = FOREVER
    trips_applier, users_applier = models.appliers()
    users_applier.store = failing
    projector = EmbeddedProjector(OutboxReader(planner.events), [trips_applier, users_applier])
    owner = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    trip_id = _plan(planner, owner)
    running = asyncio.create_task(projector.run())
    try:
        await _until(lambda: _is(_offset(models.trip_store), 1))
        assert await models.trips.get_trip(trip_id) is not None
        assert failing.bugs < FOREVER  # it failed (and keeps failing)
        assert await _offset(models.user_store) is None

        failing.bugs = 0  # the bug is fixed: the same batch applies
        await _until(lambda: _is(_offset(models.user_store), 1))
    finally:
        await projector.stop(running, grace=5)


async def test_a_projection_gathering_its_changes_applies_a_burst_in_one_batch() -> None:
    """The first change is applied at once; those made while it gathers, in one batch, even
    though another projection read them one by one (its small batches are not taken)."""
    planner = TripPlanner(EventStore())
    models = in_memory_projected()
    opened = asyncio.Event()
    opened.set()
    counted = GatedStore(cast(InMemoryProjectionStore[Any], models.trip_store), opened)
    trips_applier, users_applier = models.appliers()
    trips_applier.store = counted
    trips_applier.projection = dataclasses.replace(trips_applier.projection, gather_seconds=1.5)
    projector = EmbeddedProjector(OutboxReader(planner.events), [trips_applier, users_applier])
    owner = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    running = asyncio.create_task(projector.run())
    try:
        first = _plan(planner, owner)
        await _until(partial(_shown, models, first))
        assert counted.batches == 1

        async def users_at(offset: int) -> bool:
            return await _is(_offset(models.user_store), offset)

        burst = []
        for n, title in enumerate(("Andes", "Atlas", "Urals"), start=2):
            burst.append(_plan(planner, owner, title))
            await _until(partial(users_at, n))  # each read alone
        assert not await _shown(models, burst[0])  # gathering
        for trip_id in burst:
            await _until(partial(_shown, models, trip_id))
        assert counted.batches == 2
    finally:
        await projector.stop(running, grace=5)
    assert running.done() and not running.cancelled()


async def test_projections_at_one_position_share_each_read() -> None:
    planner = TripPlanner(EventStore())
    models = in_memory_projected()
    owner = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    for title in ("Alps", "Andes", "Atlas"):
        _plan(planner, owner, title)
    log = CountedReads(OutboxReader(planner.events))
    projector = EmbeddedProjector(log, models.appliers(), batch_size=2)

    assert await projector.catch_up() == 3
    # Two projections, two batches of the log: each read once.
    assert log.reads == Counter({LogPosition(0, 0): 1, LogPosition(0, 2): 1})


async def test_kept_batches_are_read_once_and_empty_reads_again() -> None:
    planner = TripPlanner(EventStore())
    owner = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    _plan(planner, owner)
    log = CountedReads(OutboxReader(planner.events))
    reads = SharedReads(log, limit=10)

    first = await reads.after(START)
    assert await reads.after(START) is first  # a lane a little behind: the kept batch
    assert first.read == 1
    assert (await reads.after(first.last_position)).read == 0
    _plan(planner, owner, "Andes")
    assert (await reads.after(first.last_position)).read == 1  # not kept empty
    assert log.reads == Counter({START: 1, first.last_position: 2})


class Notices:
    """The event store's append notices, counted by hand."""

    def __init__(self) -> None:
        self.seen = 0

    def ticket(self) -> int:
        return self.seen

    async def wait(self, ticket: int, timeout: float) -> None:
        await asyncio.sleep(0)


async def test_an_empty_read_answers_lanes_only_until_a_notice() -> None:
    planner = TripPlanner(EventStore())
    owner = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    log = CountedReads(OutboxReader(planner.events))
    notices = Notices()
    reads = SharedReads(log, limit=10, new_events=notices, fresh=60)

    ticket = notices.ticket()
    assert (await reads.after(START, ticket)).read == 0
    assert (await reads.after(START, ticket)).read == 0  # the same look: nothing read again
    assert log.reads == Counter({START: 1})

    _plan(planner, owner)
    notices.seen += 1  # the append's notice
    found = await reads.after(START, notices.ticket())
    assert found.read == 1  # a lane that saw the notice does not get the old empty read
    assert log.reads == Counter({START: 2})


async def test_an_empty_read_goes_stale_without_a_notice() -> None:
    planner = TripPlanner(EventStore())
    owner = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    log = CountedReads(OutboxReader(planner.events))
    notices = Notices()
    reads = SharedReads(log, limit=10, new_events=notices, fresh=0.05)

    assert (await reads.after(START, notices.ticket())).read == 0
    _plan(planner, owner)  # its notice is lost (the listening connection was down)
    await asyncio.sleep(0.06)
    assert (await reads.after(START, notices.ticket())).read == 1


class HeldBack(CountedReads):
    """A log whose events after every position wait behind a transaction still open."""

    def read_after(self, position: LogPosition, limit: int) -> OutboxBatch:
        self.reads[position] += 1
        return OutboxBatch([], position, 0, waiting=True)


async def test_a_read_that_found_events_held_back_is_never_kept() -> None:
    log = HeldBack(OutboxReader(EventStore()))
    notices = Notices()
    reads = SharedReads(log, limit=10, new_events=notices, fresh=60)

    for _ in range(3):
        assert (await reads.after(START, notices.ticket())).waiting
    # The open transaction's end sends no notice: each look reads.
    assert log.reads == Counter({START: 3})


async def _shown(models: Projected, trip_id: UUID) -> bool:
    return await models.trips.get_trip(trip_id) is not None


async def _is(value: Awaitable[int | None], expected: int) -> bool:
    return await value == expected
