"""The Faust worker: one agent per projection, each consuming its topics and applying them
through the projection engine. Read models live in Postgres, not in Faust tables.

Acknowledgement is manual. Faust acks an event when its stream iterator moves on or closes,
even on an exception, and then commits it; so the agents take batches without acks
(`noack_take`) and ack a batch only after the engine applied, skipped or parked every event
of it. A crash or a kill in between leaves the batch unacknowledged: it is delivered again,
and the engine skips what it had already applied.

Stopping (SIGTERM), the worker lets the batches being applied finish and be acknowledged
within the grace, takes no new one, and only then closes what the agents use; the consumer
commits the acknowledged offsets as it stops. A batch still running when the grace runs out
is cancelled unacknowledged, and delivered again after the restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast
from uuid import UUID

import faust
import orjson

from projections.engine.live import LiveProjection
from projections.engine.ports import Delivery, LaneMark, TransientStoreError
from projections.faust_transport import ProjectorApp
from streams.decoding import parse_event

log = logging.getLogger(__name__)

NO_AGGREGATE = UUID(int=0)


@dataclass(frozen=True)
class WorkerConfig:
    app_id: str
    broker: str
    partitions: int
    data_dir: str
    fetch_max_wait_ms: int = 50
    batch_size: int = 500
    batch_wait: float = 0.01  # seconds a batch waits to fill up
    head_report_seconds: float = 1.0
    tick_seconds: float = 30.0
    shutdown_grace: float = 20.0  # seconds the batches being applied get to finish on stop


@dataclass
class WorkerRuntime:
    """What the agents need, opened once the worker starts (no connections at import)."""

    projections: dict[str, LiveProjection[Any]]
    # Called at every tick (activity reminders); each handles its own errors.
    ticks: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


class BatchesInHand:
    """The batches the agents are applying, so that a stopping worker waits for them."""

    def __init__(self) -> None:
        self.stopping = False
        self.cut_short = False  # the grace ran out with batches still being applied
        self._applying = 0
        self._none = asyncio.Event()
        self._none.set()

    @contextmanager
    def applying(self) -> Iterator[None]:
        self._applying += 1
        self._none.clear()
        try:
            yield
        finally:
            self._applying -= 1
            if not self._applying:
                self._none.set()

    async def finish(self, grace: float) -> None:
        """Take no new batch; wait up to `grace` seconds for those being applied."""
        self.stopping = True
        if self._applying:
            log.info("stopping: %d batches being applied may finish", self._applying)
        try:
            await asyncio.wait_for(self._none.wait(), grace)
        except TimeoutError:
            self.cut_short = True
            log.error(
                "the grace of %.1f s ran out with %d batches being applied: they are delivered"
                " again after the restart",
                grace,
                self._applying,
            )


def build_worker(
    config: WorkerConfig,
    projections: Iterable[tuple[str, tuple[str, ...]]],
    open_runtime: Callable[[], Awaitable[WorkerRuntime]],
    close_runtime: Callable[[], Awaitable[None]],
    batches: BatchesInHand | None = None,
    gather: Mapping[str, float] | None = None,
) -> faust.App:
    """`projections`: (name, topics) of each projection to run; `batches`: the batches
    being applied, for the caller to tell whether a stop cut some short; `gather`: the
    seconds a projection's batch may wait to fill up, where longer than the config's."""
    in_hand = batches or BatchesInHand()
    app = ProjectorApp(
        config.app_id,
        broker=f"itinera://{config.broker}",
        store="memory://",
        topic_partitions=config.partitions,
        topic_allow_declare=False,
        broker_session_timeout=6.0,
        broker_rebalance_timeout=6.0,
        broker_heartbeat_interval=1.0,
        consumer_auto_offset_reset="earliest",
        consumer_fetch_max_wait_ms=config.fetch_max_wait_ms,
        web_enabled=False,
        datadir=config.data_dir,
        # On a rebalance, do not wait for in-flight events to be acknowledged: an agent's
        # half-filled `noack_take` batch is never acknowledged while its stream is suspended
        # for the rebalance, and the worker waited for it forever (seen with eight agents in
        # the kill test). Unacknowledged events are delivered again after the rebalance, and
        # every projection applies an event once whatever happens (tracking per aggregate).
        stream_wait_empty=False,
    )
    opened: list[WorkerRuntime] = []
    opening = asyncio.Lock()  # every agent asks at start: one runtime for all of them

    async def runtime() -> WorkerRuntime:
        async with opening:
            if not opened:
                opened.append(await open_runtime())
                for live in opened[0].projections.values():
                    app.add_future(live.rebuild_while_outdated())
        return opened[0]

    def project(name: str, topics: tuple[str, ...]) -> None:
        channel = app.topic(
            *topics,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=config.partitions,
        )

        async def agent(values: faust.StreamT[bytes]) -> None:
            stream = cast(faust.Stream[bytes], values)  # noack_take is not on StreamT
            live = (await runtime()).projections[name]
            within = max(config.batch_wait, (gather or {}).get(name, 0.0))
            async for taken in stream.noack_take(config.batch_size, within=within):
                if in_hand.stopping:
                    continue  # neither applied nor acknowledged: delivered again after a restart
                events = cast(Sequence[faust.EventT[bytes]], taken)  # typed as values: events
                deliveries = [_delivery(e) for e in events]
                try:
                    with in_hand.applying():
                        await live.apply(deliveries, _marks(events, deliveries))
                        for event in events:
                            await stream.ack(event)
                except Exception as error:
                    # Not poison (the engine parks that) nor an outage (it waits those out):
                    # a bug of the engine itself. Unacknowledged, the batch comes back after a
                    # restart; crash rather than let later acks commit past it.
                    log.exception("%s: cannot apply a batch; stopping the worker", name)
                    await app.crash(error)
                    return

        app.agent(channel, name=f"project-{name}")(agent)

    for name, topics in projections:
        project(name, topics)

    @app.timer(interval=config.head_report_seconds)  # type: ignore[untyped-decorator]
    async def report_heads() -> None:
        """Each projection's lag: the newest offset of each partition it reads."""
        if not opened or in_hand.stopping:  # stopping: the runtime is closing
            return
        heads: dict[str, int] = {}
        for tp in app.consumer.assignment():
            highwater = app.consumer.highwater(tp)
            if highwater is not None:
                heads[f"{tp.topic}/{tp.partition}"] = int(highwater) - 1
        for live in opened[0].projections.values():
            topics = live.applier.projection.topics
            mine = {lane: head for lane, head in heads.items() if lane.split("/")[0] in topics}
            try:
                await live.applier.store.report_heads(mine)
            except TransientStoreError as error:  # lag figures wait for the next report
                log.warning("%s: heads not reported: %s", live.applier, error)

    @app.timer(interval=config.tick_seconds)  # type: ignore[untyped-decorator]
    async def tick() -> None:
        if opened and not in_hand.stopping:
            for work in opened[0].ticks:
                await work()

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def _close(sender: Any, **kwargs: Any) -> None:
        # Faust has stopped fetching; the agents are cancelled, and the consumer commits
        # what was acknowledged, only after this returns.
        await in_hand.finish(config.shutdown_grace)
        if opened:
            await close_runtime()

    return app


def _delivery(event: faust.EventT[bytes]) -> Delivery:
    message = event.message
    raw = bytes(message.value or b"")
    try:
        contract = parse_event(message.topic, raw)
    except ValueError as error:
        return Delivery(
            _key_of(message.key),
            _version_in(raw),
            None,
            payload=raw,
            unreadable=f"{type(error).__name__}: {error}"[:2000],
        )
    return Delivery(
        contract.aggregate_id,
        contract.aggregate_version,
        contract,
        payload=raw,
        traceparent=_traceparent_of(message.headers),
    )


def _traceparent_of(headers: Any) -> str | None:
    """The message's `traceparent` header (the publisher's span), if it has one."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
    for name, value in pairs:
        if name == "traceparent" and value:
            return bytes(value).decode("latin-1")
    return None


def _key_of(key: bytes | None) -> UUID:
    try:
        return UUID((key or b"").decode())
    except ValueError:
        return NO_AGGREGATE


def _version_in(raw: bytes) -> int | None:
    try:
        version = orjson.loads(raw).get("aggregate_version")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return version if isinstance(version, int) else None


def _marks(events: Sequence[faust.EventT[bytes]], deliveries: Sequence[Delivery]) -> list[LaneMark]:
    """The last offset reached on each partition, with the time of the event found there."""
    last: dict[str, LaneMark] = {}
    for event, delivery in zip(events, deliveries, strict=True):
        message = event.message
        lane = f"{message.topic}/{message.partition}"
        if lane not in last or message.offset > last[lane].offset:
            at = delivery.event.occurred_at if delivery.event is not None else None
            last[lane] = LaneMark(lane, message.offset, at)
    return list(last.values())
