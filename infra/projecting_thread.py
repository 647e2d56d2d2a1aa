"""Embedded mode's projections on a thread of their own, with an event loop of their own.

On the API's event loop, each await of a projection batch (a dozen round trips to
PostgreSQL) waited for its turn behind every request in flight: under a few hundred clients
a batch took most of a second, and every read waiting for a write's view waited with it. On
a loop of their own, a batch waits for the database and for its share of the interpreter
lock, nothing else.

What the projections reach on the API's side (the sockets' live feed and presence) is
called on the API's loop. The projections' connections, their notices of appends and the
embedded projector itself live and die on this thread's loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Coroutine
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any, TypeVar

from psycopg_pool import AsyncConnectionPool

from infra.database import open_read_pool, require_database_url
from infra.engine_wiring import projection_engine
from infra.live.services import Live
from infra.postgres.changes import PostgresChanges
from infra.postgres.ordered_recorder import notice_channel
from infra.settings import Settings
from projections.embedded import EmbeddedProjector
from read_side.live import LiveFeed, Presence, Subscription
from streams.outbox import OutboxReader
from streams.pacing import Pacer
from write_side.event_store import EventStore

log = logging.getLogger(__name__)

T = TypeVar("T")
JOIN_MARGIN_SECONDS = 10.0  # beyond the grace: closing the pools, the listener


class ProjectingThread:
    """Rebuilds outdated projections and catches every one up (`start` returns then, or
    raises what failed), then projects what is appended until `stop`."""

    def __init__(self, settings: Settings, events: EventStore, live: Live) -> None:
        self._settings = settings
        self._events = events
        self._live = live
        self._ready: concurrent.futures.Future[AsyncConnectionPool] = concurrent.futures.Future()
        self._done: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="projections", daemon=True)

    async def start(self) -> AsyncConnectionPool:
        """The pool the projections write through (for its metrics), once they caught up."""
        api_loop = asyncio.get_running_loop()
        self._live = Live(
            _FeedOn(api_loop, self._live.feed), _PresenceOn(api_loop, self._live.presence)
        )
        self._thread.start()
        return await asyncio.wrap_future(self._ready)

    async def stop(self) -> None:
        """Let the batches in hand finish (within the shutdown grace), then close."""
        if self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):  # its loop ended already
                self._loop.call_soon_threadsafe(self._stopping.set)
        await asyncio.wrap_future(self._done)
        wait = self._settings.shutdown_grace_seconds + JOIN_MARGIN_SECONDS
        await asyncio.to_thread(self._thread.join, wait)

    def _run(self) -> None:
        try:
            asyncio.run(self._project())
        except BaseException as error:
            for future in (self._ready, self._done):
                if not future.done():
                    future.set_exception(error)
        else:
            if not self._done.done():
                self._done.set_result(None)

    async def _project(self) -> None:
        settings = self._settings
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        async with AsyncExitStack() as closing:
            pool = await open_read_pool(settings, settings.projection_pool_size)
            closing.push_async_callback(pool.close)
            # The event store's notice of each append wakes the projector at once.
            appends = PostgresChanges(
                require_database_url(settings), notice_channel(self._events), api=False
            )
            await appends.start()
            closing.push_async_callback(appends.close)
            outbox = OutboxReader(self._events)
            engine = projection_engine(settings, pool, self._events, outbox, self._live)
            closing.callback(engine.close)
            await engine.rebuild_outdated()
            projector = EmbeddedProjector(
                outbox,
                engine.appliers(),
                batch_size=settings.projection_batch_size,
                pacer=Pacer(slowest=settings.relay_poll_interval),
                new_events=appends.appends(),
            )
            await projector.catch_up()
            await engine.report_parked()
            running = asyncio.create_task(projector.run(), name="embedded-projector")
            self._ready.set_result(pool)
            stopped = asyncio.create_task(self._stopping.wait())
            await asyncio.wait([running, stopped], return_when=asyncio.FIRST_COMPLETED)
            if running.done():
                # Only a bug of the projector ends it early: say so, and serve on (as the
                # API serves when a projection is behind).
                log.error("the embedded projector stopped", exc_info=running.exception())
                await self._stopping.wait()
            else:
                await projector.stop(running, settings.shutdown_grace_seconds)
            stopped.cancel()


class _OnLoop:
    """Runs coroutines on another thread's event loop, awaited from this one."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    async def _on(self, call: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(call, self._loop))


class _FeedOn(_OnLoop):
    """The API's live feed, as the projections publish to it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, feed: LiveFeed) -> None:
        super().__init__(loop)
        self._feed = feed

    async def publish(self, channel: str, message: bytes) -> None:
        await self._on(self._feed.publish(channel, message))

    def deliver_here(self, channel: str, message: bytes) -> None:
        self._loop.call_soon_threadsafe(self._feed.deliver_here, channel, message)

    def subscribe(self, channel: str, size: int) -> AbstractAsyncContextManager[Subscription]:
        raise NotImplementedError("projections publish; sockets subscribe on the API's loop")

    async def close(self) -> None:
        return None  # the API closes its feed


class _PresenceOn(_OnLoop):
    def __init__(self, loop: asyncio.AbstractEventLoop, presence: Presence) -> None:
        super().__init__(loop)
        self._presence = presence

    async def mark(self, room: str, user_id: str, seconds: float) -> None:
        await self._on(self._presence.mark(room, user_id, seconds))

    async def present(self, room: str, user_ids: list[str]) -> set[str]:
        return await self._on(self._presence.present(room, user_ids))

    async def close(self) -> None:
        return None
