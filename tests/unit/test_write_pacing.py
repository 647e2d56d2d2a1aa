"""Write pacing: a command waits while more than the limit of this process's trip writes are
not yet in the trip views, and goes on as the views' notices come, or once its patience runs
out; without notices nothing holds it."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import pytest

from api.sync_views import trip_writes
from infra.write_pacing import TRIP_VIEWS, WritePacing
from write_side.sync.changes import EntityType, Outcome, Status, SyncChange, outcome_of

pytestmark = pytest.mark.anyio

PATIENCE = 30.0  # long enough never to run out in a test that does not want it to


def listening(limit: int, patience: float = PATIENCE) -> WritePacing:
    """Pacing told that notices come, and that the trip views spoke just now."""
    pacing = WritePacing(limit, patience)
    pacing.listening(True)
    pacing.heard(TRIP_VIEWS, uuid4(), 1)
    return pacing


async def held(pacing: WritePacing) -> asyncio.Task[None]:
    """An admission, started: still waiting after the loop went round a few times."""
    admitting = asyncio.create_task(pacing.admit())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not admitting.done()
    return admitting


async def test_within_the_limit_a_command_goes_at_once() -> None:
    pacing = listening(limit=3)
    trip = uuid4()
    pacing.wrote(trip, 1)
    pacing.wrote(trip, 2)
    await asyncio.wait_for(pacing.admit(), 1)
    assert pacing.pending == 2


async def test_over_the_limit_a_command_waits_for_the_views_to_reach_the_writes() -> None:
    pacing = listening(limit=2)
    trip, other = uuid4(), uuid4()
    pacing.wrote(trip, 4)
    pacing.wrote(trip, 3)  # the threads of two commands may tell it in either order
    pacing.wrote(other, 7)
    admitting = await held(pacing)
    pacing.heard("sync_feed", trip, 4)  # another projection: nothing a reader waits for
    pacing.heard(TRIP_VIEWS, trip, 3)  # the view reached 3, not 4: two still pending
    assert pacing.pending == 2
    for _ in range(5):
        await asyncio.sleep(0)
    assert not admitting.done()
    pacing.heard(TRIP_VIEWS, other, 9)
    await asyncio.wait_for(admitting, 1)
    assert pacing.pending == 1


async def test_held_commands_go_in_their_order_one_for_each_write_the_views_reach() -> None:
    pacing = listening(limit=2)
    trip = uuid4()
    pacing.wrote(trip, 1)
    pacing.wrote(trip, 2)
    first, second, third = [await held(pacing) for _ in range(3)]
    pacing.heard(TRIP_VIEWS, trip, 1)  # room for one more write: the first held goes
    await asyncio.wait_for(first, 1)
    for _ in range(5):
        await asyncio.sleep(0)
    assert not second.done() and not third.done()
    pacing.wrote(trip, 3)  # what the first one wrote
    pacing.heard(TRIP_VIEWS, trip, 3)  # room for two
    await asyncio.wait_for(asyncio.gather(second, third), 1)
    await asyncio.wait_for(pacing.admit(), 1)  # nobody held ahead of it, and room: it goes


async def test_a_write_heard_of_before_its_thread_told_of_it_is_not_pending() -> None:
    pacing = listening(limit=1)
    trip = uuid4()
    pacing.heard(TRIP_VIEWS, trip, 2)  # the projector was quicker than the route's thread
    pacing.wrote(trip, 2)
    pacing.wrote(trip, 1)
    assert pacing.pending == 0
    pacing.wrote(trip, 3)
    assert pacing.pending == 1


async def test_a_parked_or_removed_view_waits_for_none_of_its_writes() -> None:
    pacing = listening(limit=1)
    trip = uuid4()
    pacing.wrote(trip, 1)
    pacing.wrote(trip, 2)
    admitting = await held(pacing)
    pacing.heard(TRIP_VIEWS, trip, None)
    await asyncio.wait_for(admitting, 1)
    assert pacing.pending == 0


async def test_a_command_goes_on_once_its_patience_runs_out_and_old_writes_are_forgotten() -> None:
    pacing = listening(limit=1, patience=0.2)
    pacing.wrote(uuid4(), 1)  # never heard of: a projection parked without saying so
    pacing.wrote(uuid4(), 1)
    admitting = await held(pacing)
    while not admitting.done():  # the trip views go on with other trips
        pacing.heard(TRIP_VIEWS, uuid4(), 1)
        await asyncio.sleep(0.01)
    await admitting
    assert pacing.pending == 0


async def test_while_the_trip_views_say_nothing_for_the_patience_nobody_is_held() -> None:
    pacing = listening(limit=1, patience=0.05)
    pacing.wrote(uuid4(), 1)
    admitting = await held(pacing)  # they spoke just now: held
    await asyncio.wait_for(admitting, 5)  # then silent for the patience: it goes
    pacing.wrote(uuid4(), 1)
    pacing.wrote(uuid4(), 1)
    again = asyncio.create_task(pacing.admit())
    await asyncio.sleep(0)  # one turn of the loop: it did not wait for anything
    assert again.done()


async def test_without_notices_nothing_is_counted_and_nothing_waits() -> None:
    pacing = listening(limit=1)
    pacing.wrote(uuid4(), 1)
    pacing.wrote(uuid4(), 1)
    admitting = await held(pacing)
    pacing.listening(False)  # the notices of what was pending may be lost with the connection
    await asyncio.wait_for(admitting, 1)
    assert pacing.pending == 0
    pacing.wrote(uuid4(), 1)
    pacing.wrote(uuid4(), 1)
    assert pacing.pending == 0
    await asyncio.wait_for(pacing.admit(), 1)


async def test_a_limit_of_zero_paces_nothing() -> None:
    pacing = listening(limit=0)
    pacing.wrote(uuid4(), 1)
    assert pacing.pending == 0
    await asyncio.wait_for(pacing.admit(), 1)


def test_a_sync_push_paces_by_the_trip_versions_it_applied_and_by_nothing_else() -> None:
    trip = uuid4()

    def outcome(entity_type: EntityType, status: Status = "applied", **more: Any) -> Outcome:
        change = SyncChange(entity_type, uuid4(), "update", {}, {})
        return outcome_of(change, status, **{"trip_id": trip, "version": 3, **more})

    outcomes = [
        outcome("trip"),
        outcome("activity", version=4),
        outcome("message", version=9),  # the room's version, not the trip's
        outcome("destination", replayed=True),  # written by an earlier push
        outcome("trip", "conflict"),
        outcome("trip", "error", version=None),
    ]
    assert trip_writes(outcomes) == [(trip, 3), (trip, 4)]
