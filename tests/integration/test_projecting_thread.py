"""Embedded mode's projections run on a thread of their own, with their own event loop: they
follow the event store's log from there, and stop with the API."""

from __future__ import annotations

import asyncio
import threading

import pytest

from infra.settings import Settings
from infra.wiring import api_container
from tests.integration.engine_support import plan_trips

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


def projecting_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "projections"]


async def test_the_projections_follow_the_log_on_their_own_thread_and_stop_with_the_api(
    api_settings: Settings,
) -> None:
    settings = api_settings.model_copy(update={"embedding_model": "hashed"})
    async with api_container(settings) as container:
        assert len(projecting_threads()) == 1
        (trip_id,) = await asyncio.to_thread(plan_trips, container.planner, 1)
        for _ in range(200):
            stored = await container.trips.get_trip(trip_id)
            if stored is not None and stored.view.version == 3:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the trip's view never reached version 3")
        assert stored.view.title == "T0.1"
    assert projecting_threads() == []
