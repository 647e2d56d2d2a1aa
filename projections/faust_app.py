"""The Faust worker: consumes the domain topics and keeps the Postgres read models current.

Read models live in Postgres (through the read stores), not in Faust tables. An event is
acknowledged only after its view is committed, so a crash re-delivers it and the version
check skips it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import faust

from projections.handler import ReadModels, apply_event
from streams.contracts import EventEnvelope, parse_trip_event
from streams.topics import TRIP_EVENTS, USER_EVENTS
from streams.user_contracts import parse_user_event

log = logging.getLogger(__name__)

PARSERS: dict[str, Callable[[bytes], EventEnvelope]] = {
    TRIP_EVENTS: parse_trip_event,
    USER_EVENTS: parse_user_event,
}


@dataclass(frozen=True)
class WorkerConfig:
    app_id: str
    broker: str
    partitions: int
    data_dir: str


def build_worker(
    config: WorkerConfig,
    open_models: Callable[[], Awaitable[ReadModels]],
    close_models: Callable[[], Awaitable[None]],
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
        datadir=config.data_dir,
    )
    opened: list[ReadModels] = []

    async def models() -> ReadModels:
        if not opened:
            opened.append(await open_models())
        return opened[0]

    def project(topic_name: str) -> None:
        topic = app.topic(
            topic_name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=config.partitions,
        )
        parse = PARSERS[topic_name]

        async def agent(values: faust.StreamT[bytes]) -> None:
            async for raw in values:
                try:
                    await apply_event(await models(), topic_name, parse(raw))
                except Exception as error:
                    # Skipping would lose the event and break its view for good: stop the
                    # worker instead; it resumes from the last committed offset once fixed.
                    log.exception("cannot project a %s event; stopping the worker", topic_name)
                    await app.crash(error)
                    raise

        app.agent(topic, name=f"project-{topic_name}")(agent)

    for topic_name in PARSERS:
        project(topic_name)

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def _close(sender: Any, **kwargs: Any) -> None:
        if opened:
            await close_models()

    return app
