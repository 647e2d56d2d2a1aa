"""The contract every ProjectionStore adapter passes (subclassed once per adapter), with
trip documents as the state."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from projections.engine.ports import Change, DeadLetter, LaneMark, LaneOffset
from projections.trip_views import TRIP_VIEWS
from tests.builders import trip_created


def document(title: str = "Japan"):
    created = trip_created(uuid4(), uuid4(), title=title)
    state = TRIP_VIEWS.fold([created], None)
    assert state is not None
    return created.aggregate_id, state


def letter(aggregate_id, version: int, failed: bool) -> DeadLetter:
    return DeadLetter(
        aggregate_id,
        version,
        "TripDetailsUpdated",
        b"{}",
        "boom" if failed else "",
        1 if failed else 0,
        failed,
    )


class ProjectionStoreContract:
    """Subclasses provide a `store` fixture yielding an empty store."""

    pytestmark = pytest.mark.anyio

    async def test_nothing_is_tracked_at_first(self, store) -> None:
        async with store.batch() as batch:
            assert await batch.load([uuid4()]) == {}
        assert await store.offsets() == {}

    async def test_a_saved_state_is_loaded_with_its_version(self, store) -> None:
        trip_id, state = document()
        async with store.batch() as batch:
            await batch.save({trip_id: Change(1, state, None)})
        async with store.batch() as batch:
            (current,) = (await batch.load([trip_id])).values()
        assert (current.version, current.parked, current.state) == (1, False, state)

    async def test_a_batch_that_fails_changes_nothing(self, store) -> None:
        trip_id, state = document()
        with pytest.raises(RuntimeError):
            async with store.batch() as batch:
                await batch.save({trip_id: Change(1, state, None)})
                await batch.mark([LaneMark("p/0", 7, None)])
                raise RuntimeError("crash mid-batch")
        async with store.batch() as batch:
            assert await batch.load([trip_id]) == {}
        assert await store.offsets() == {}

    async def test_parking_keeps_the_state_and_unparking_lets_it_flow(self, store) -> None:
        trip_id, state = document()
        async with store.batch() as batch:
            await batch.save({trip_id: Change(1, state, None)})
            await batch.park(trip_id, 1, [letter(trip_id, 2, True), letter(trip_id, 3, False)])
        async with store.batch() as batch:  # a redelivered letter is recorded once
            await batch.park(trip_id, 1, [letter(trip_id, 3, False)])
            current = (await batch.load([trip_id]))[trip_id]
        assert (current.version, current.parked, current.state) == (1, True, state)
        async with store.batch() as batch:
            await batch.unpark(trip_id)
            current = (await batch.load([trip_id]))[trip_id]
        assert (current.version, current.parked) == (1, False)

    async def test_forgetting_an_aggregate_removes_its_state_and_tracking(self, store) -> None:
        trip_id, state = document()
        async with store.batch() as batch:
            await batch.save({trip_id: Change(1, state, None)})
        async with store.batch() as batch:
            await batch.forget(trip_id)
            assert await batch.load([trip_id]) == {}

    async def test_lane_offsets_never_move_back(self, store) -> None:
        async with store.batch() as batch:
            await batch.mark([LaneMark("trip-events/0", 10, None), LaneMark("log", 3, None)])
        async with store.batch() as batch:
            await batch.mark([LaneMark("trip-events/0", 4, None)])
        assert await store.offsets() == {
            "trip-events/0": LaneOffset(0, 10),
            "log": LaneOffset(0, 3),
        }

    async def test_a_log_offset_moves_as_a_pair_of_transaction_and_notification(
        self, store
    ) -> None:
        async with store.batch() as batch:
            await batch.mark([LaneMark("log", 9, None, transaction=500)])
        async with store.batch() as batch:  # a later transaction, a lower notification id
            await batch.mark([LaneMark("log", 4, None, transaction=501)])
        assert await store.offsets() == {"log": LaneOffset(501, 4)}
        async with store.batch() as batch:  # an older pair never moves it back
            await batch.mark([LaneMark("log", 12, None, transaction=500)])
        assert await store.offsets() == {"log": LaneOffset(501, 4)}

    async def test_writers_of_one_aggregate_take_turns(self, store) -> None:
        trip_id, state = document()
        async with store.batch() as batch:
            await batch.save({trip_id: Change(1, state, None)})

        async def bump() -> None:
            async with store.batch() as batch:
                current = (await batch.load([trip_id]))[trip_id]
                await asyncio.sleep(0.05)  # another writer would interleave here
                await batch.save({trip_id: Change(current.version + 1, state, current.state)})

        await asyncio.gather(*(bump() for _ in range(4)))
        async with store.batch() as batch:
            assert (await batch.load([trip_id]))[trip_id].version == 5
