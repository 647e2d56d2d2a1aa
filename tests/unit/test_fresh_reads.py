"""A read without `min_version` still sees every write that finished before it began: it
waits (bounded) for the event store's version of the trip."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import pytest

from read_side import queries
from read_side.errors import TripViewNotFoundError
from read_side.queries import Reading
from tests.builders import details_updated, trip_created
from tests.projected import in_memory_projected

pytestmark = pytest.mark.anyio


class EventStoreSays:
    """The event store's word: every trip is at `version`, readable by anyone."""

    def __init__(self, version: int | None) -> None:
        self.version_now = version

    async def readable_by(self, trip_id: UUID, user_id: UUID) -> bool:
        return True

    async def version(self, trip_id: UUID) -> int | None:
        return self.version_now


async def test_a_plain_read_waits_for_the_write_that_finished_before_it() -> None:
    models = in_memory_projected()
    trip_id, owner = uuid4(), uuid4()
    await models.apply(trip_created(trip_id, owner))
    reading = Reading(models.trips, EventStoreSays(version=2), timeout=2.0)

    async def project_the_write_late() -> None:
        await asyncio.sleep(0.2)
        await models.apply(details_updated(trip_id, 2, owner, "Renamed"))

    late = asyncio.create_task(project_the_write_late())
    found = await queries.trip_detail(reading, trip_id, owner)
    await late
    assert (found.view.version, found.view.title, found.stale) == (2, "Renamed", False)


async def test_a_plain_read_says_stale_when_the_view_does_not_catch_up_in_time() -> None:
    models = in_memory_projected()
    trip_id, owner = uuid4(), uuid4()
    await models.apply(trip_created(trip_id, owner))
    reading = Reading(models.trips, EventStoreSays(version=2), timeout=0.1)
    found = await queries.trip_detail(reading, trip_id, owner)
    assert (found.view.version, found.stale_reason) == (1, queries.BEHIND)


async def test_a_trip_the_event_store_does_not_know_is_not_found() -> None:
    models = in_memory_projected()
    reading = Reading(models.trips, EventStoreSays(version=None))
    with pytest.raises(TripViewNotFoundError):
        await queries.trip_detail(reading, uuid4(), uuid4())
