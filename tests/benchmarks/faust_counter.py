"""A bare Faust worker for the worker benchmark's baseline: the same transport, topic and
batching as `itinera worker`, but its agent only counts (no decoding, no database). Writes
`<first> <last>` (epoch seconds of its first and last event) to OUT once it counted EXPECTED.

    python -m tests.benchmarks.faust_counter BOOTSTRAP PARTITIONS EXPECTED OUT DATADIR
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, cast
from uuid import uuid4

import faust

from projections.faust_transport import ProjectorApp
from streams.topics import TRIP_EVENTS


def main() -> None:
    bootstrap, partitions, expected, out, datadir = sys.argv[1:6]
    app = ProjectorApp(
        f"bench-counter-{uuid4().hex[:8]}",
        broker=f"itinera://{bootstrap}",
        store="memory://",
        topic_partitions=int(partitions),
        topic_allow_declare=False,
        broker_session_timeout=6.0,
        broker_rebalance_timeout=6.0,
        broker_heartbeat_interval=1.0,
        consumer_auto_offset_reset="earliest",
        consumer_fetch_max_wait_ms=50,
        web_enabled=False,
        datadir=datadir,
    )
    topic = app.topic(
        TRIP_EVENTS,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=int(partitions),
    )
    seen = {"count": 0, "first": 0.0}

    @app.agent(topic)
    async def count(values: faust.StreamT[bytes]) -> None:
        stream = cast(faust.Stream[bytes], values)
        async for taken in stream.noack_take(500, within=0.01):
            events = cast(Any, taken)
            if not seen["count"]:
                seen["first"] = time.time()
            seen["count"] += len(events)
            for event in events:
                await stream.ack(event)
            if seen["count"] >= int(expected):
                Path(out).write_text(f"{seen['first']} {time.time()}")
                os._exit(0)

    faust.Worker(app, loglevel="warning").execute_from_commandline()


if __name__ == "__main__":
    main()
