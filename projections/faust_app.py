"""The Faust worker: consumes `trip-events` and keeps the Postgres read models current.

Read models live in Postgres (through the read store), not in Faust tables. An event is
acknowledged only after its view is committed, so a crash re-delivers it and the version
check skips it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import faust

from projections.handler import apply_trip_event
from read_side.store import TripReadStore
from streams.contracts import parse_trip_event
from streams.topics import TRIP_EVENTS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerConfig:
    app_id: str
    broker: str
    partitions: int
    web_port: int = 6066


def build_worker(
    config: WorkerConfig,
    open_store: Callable[[], Awaitable[TripReadStore]],
    close_store: Callable[[TripReadStore], Awaitable[None]],
) -> faust.App:
    app = faust.App(
        config.app_id,
        broker=f"kafka://{config.broker}",
        store="memory://",
        topic_partitions=config.partitions,
        topic_allow_declare=False,
        broker_session_timeout=6.0,
        broker_rebalance_timeout=6.0,
        broker_heartbeat_interval=1.0,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        web_port=config.web_port,
    )
    trip_events = app.topic(
        TRIP_EVENTS,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=config.partitions,
    )
    stores: dict[str, TripReadStore] = {}

    async def store() -> TripReadStore:
        if "trips" not in stores:
            stores["trips"] = await open_store()
        return stores["trips"]

    @app.agent(trip_events)
    async def project_trip_events(values: faust.StreamT[bytes]) -> None:
        async for raw in values:
            try:
                await apply_trip_event(await store(), parse_trip_event(raw))
            except Exception as error:
                # Skipping would lose the event and break the trip's view for good: stop the
                # worker instead; it resumes from the last committed offset once fixed.
                log.exception("cannot project a trip event; stopping the worker")
                await app.crash(error)
                raise

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def _close(sender: Any, **kwargs: Any) -> None:
        if "trips" in stores:
            await close_store(stores.pop("trips"))

    return app
