"""The one place that builds concrete adapters and hands them to the application layers.

Nothing here runs at import time: every client is built by a function call.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

import orjson
import psycopg
import redis
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from infra.chat_announcer import ChatAnnouncer
from infra.identity.keys import KeyFolder, shared_secret
from infra.identity.memory_stores import InMemoryRateLimiter
from infra.identity.postgres_stores import PostgresRevocationStore
from infra.identity.redis_stores import RedisRateLimiter
from infra.live.memory_feed import InProcessFeed, InProcessPresence
from infra.live.redis_feed import RedisFeed
from infra.live.redis_presence import RedisPresence
from infra.notifier import Notifier
from infra.postgres.changes import PostgresChanges
from infra.postgres.chat_history import PostgresChatHistory
from infra.postgres.event_log import PostgresEventLog
from infra.postgres.migrate import migrate, migration_lock
from infra.postgres.notifications import PostgresNotifications
from infra.postgres.ordered_recorder import TOPIC as ORDERED_RECORDER_TOPIC
from infra.postgres.ordered_recorder import notice_channel
from infra.postgres.projections.catalogue import catalogue
from infra.postgres.projections.dead_letters import DeadLetters
from infra.postgres.projections.schema import (
    ProjectionSchema,
    RebuildRunningError,
    ensure_live_tables,
)
from infra.postgres.projections.status import projections_health
from infra.postgres.read_store import PostgresTripReadStore
from infra.postgres.sync_feed import PostgresSyncFeed
from infra.postgres.sync_log import PostgresSyncLog
from infra.postgres.user_directory import PostgresUserDirectory
from infra.progress import LineProgress
from infra.rebuild_jobs import jobs_for, parallel_scan
from infra.reminders import Reminders
from infra.settings import Settings
from infra.sync_pokes import sync_poker
from projections.catalogue import PROJECTIONS
from projections.embedded import EmbeddedProjector
from projections.engine.applier import Applier, RetryPolicy
from projections.engine.lag import ProjectionHealth
from projections.engine.live import LiveProjection
from projections.engine.ports import EventSource
from projections.engine.projection import Projection
from projections.engine.rebuild import Progress, RebuildReport, rebuild
from read_side.chat import ChatHistory
from read_side.live import LiveFeed, Presence
from read_side.notifications import NotificationStore
from read_side.store import ProjectionChanges, TripReadStore
from read_side.sync import SyncFeed
from read_side.sync_cursor import CursorCodec
from read_side.users import UserDirectory
from streams.outbox import OutboxReader
from streams.pacing import Pacer
from write_side.chat.service import Chat
from write_side.event_store import EventStore
from write_side.identity.accounts import Accounts
from write_side.identity.ports import RateLimiter
from write_side.identity.tokens import TokenPolicy, TokenService
from write_side.notifications.service import Notifications
from write_side.sync.apply import ChangeApplier
from write_side.sync.service import SyncService
from write_side.trips.planner import TripPlanner

__all__ = ["Container", "Settings", "api_container"]

log = logging.getLogger(__name__)

# How long a request waits for a connection of the API's synchronous pool (token checks,
# revocations) before it is refused with 503: an unreachable PostgreSQL must not hold
# every request for psycopg_pool's default 30 s.
SYNC_POOL_TIMEOUT = 5.0
WARM_CONNECTIONS = 1
SYNC_CURSOR_SECRET = "sync-cursor.secret"  # in the keys folder: every API instance signs alike


def event_store_env(
    database_url: str, pool_size: int, *, create_tables: bool = False, lock_timeout: int = 5
) -> dict[str, str]:
    """eventsourcing's Postgres settings for a PostgreSQL URL (host may be a socket folder)."""
    params = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(params.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        # eventsourcing opens POOL_SIZE connections at once and grows to POOL_SIZE +
        # MAX_OVERFLOW under load: keep one open per event store, up to twice `pool_size`.
        # (Ten eager ones per store made a worker hold about sixty connections at rest.)
        "POSTGRES_POOL_SIZE": str(WARM_CONNECTIONS),
        "POSTGRES_MAX_OVERFLOW": str(2 * pool_size - WARM_CONNECTIONS),
        # Server-side insert function (one round trip per save), in a variant that keeps
        # commit order equal to notification-id order; see infra/postgres/ordered_recorder.py.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "yes",
        "APPLICATION_RECORDER_TOPIC": ORDERED_RECORDER_TOPIC,
        # A save that waits longer than this for the insert lock (held by a stuck writer or
        # an anti-wraparound VACUUM) fails with a clear error instead of queueing forever.
        "POSTGRES_LOCK_TIMEOUT": str(lock_timeout),
        # Only `prepare_database` creates tables, under the migration lock: processes starting
        # together would otherwise race on CREATE TYPE.
        "CREATE_TABLE": "yes" if create_tables else "no",
    }


def require_database_url(settings: Settings) -> str:
    if not settings.database_url:
        raise SystemExit(
            "ITINERA_DATABASE_URL is not set. Set it to a PostgreSQL URL, "
            "or run `itinera serve` for the embedded mode."
        )
    return settings.database_url


def build_event_store(settings: Settings, *, create_tables: bool = False) -> EventStore:
    url = require_database_url(settings)
    env = event_store_env(
        url,
        settings.db_pool_size,
        create_tables=create_tables,
        lock_timeout=settings.event_store_lock_timeout,
    )
    return EventStore(env=env)


def prepare_database(settings: Settings) -> None:
    """Create the event store tables, apply migrations and create every projection's tables
    (safe to run from several processes at once)."""
    url = require_database_url(settings)
    with migration_lock(url):
        events = build_event_store(settings, create_tables=True)
        try:
            empty = events.recorder.max_notification_id() is None
        finally:
            events.close()
        migrate(url)
        created = ensure_live_tables(
            url,
            [(tables, projection.version) for projection, tables in catalogue()],
            nothing_to_project=empty,
        )
        for name in created:
            log.info("created the tables of projection %s", name)


async def _json_from_orjson(conn: psycopg.AsyncConnection[Any]) -> None:
    set_json_loads(orjson.loads, conn)


async def open_read_pool(settings: Settings) -> AsyncConnectionPool:
    pool = AsyncConnectionPool(
        require_database_url(settings),
        min_size=1,
        max_size=settings.db_pool_size,
        open=False,
        kwargs={"autocommit": True},
        configure=_json_from_orjson,
    )
    await pool.open(wait=True)
    return pool


@dataclass
class EngineUnit:
    """One projection, its tables and the applier that writes them."""

    projection: Projection[Any]
    schema: ProjectionSchema[Any]
    applier: Applier[Any]


@dataclass
class ProjectionEngine:
    settings: Settings
    units: list[EngineUnit]
    events: PostgresEventLog
    pool: AsyncConnectionPool
    source: EventSource

    def dead_letters(self) -> DeadLetters:
        return DeadLetters(self.pool, [(u.projection, u.schema) for u in self.units], self.source)

    def appliers(self) -> list[Applier[Any]]:
        return [unit.applier for unit in self.units]

    async def rebuild(self, unit: EngineUnit, progress: Progress | None = None) -> RebuildReport:
        """Rebuild one projection; a large history is scanned by several processes."""
        topics = unit.projection.topics
        count = await asyncio.to_thread(self.events.count, topics, self.events.head())
        jobs = jobs_for(self.settings, count)
        parallel = parallel_scan(self.settings, unit.projection.name, jobs) if jobs > 1 else None
        return await rebuild(
            unit.projection, unit.schema, self.events, progress=progress, parallel=parallel
        )

    async def rebuild_outdated(self) -> None:
        """Rebuild each projection whose live tables hold another version than the code's
        (a new or reshaped read model), before anything reads them."""
        for unit in self.units:
            built = await unit.schema.built()
            if built.version != unit.projection.version:
                log.warning(
                    "%s: tables hold version %s, the code declares %d; rebuilding",
                    unit.projection.name,
                    built.version,
                    unit.projection.version,
                )
                await self.rebuild(unit, LineProgress())

    def live(self) -> dict[str, LiveProjection[Any]]:
        return {
            unit.projection.name: LiveProjection(
                unit.applier,
                unit.schema,
                partial(self.rebuild, unit, LineProgress()),
                rebuild_running=RebuildRunningError,
            )
            for unit in self.units
        }

    async def report_parked(self) -> None:
        """Say at start which projections hold parked trips (they serve what they can)."""
        found = await projections_health(
            self.pool, [u.projection for u in self.units], timedelta(days=1)
        )
        for health in found:
            if health.parked:
                log.warning(
                    "%s: %d aggregates parked (%d dead letters); see `itinera dlq list`",
                    health.name,
                    health.parked,
                    health.dead_letters,
                )

    def close(self) -> None:
        self.events.close()


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        attempts=settings.projection_attempts, backoff=settings.projection_retry_backoff
    )


def _wrapped(settings: Settings, projection: Projection[Any]) -> Projection[Any]:
    if settings.projection_wrapper is None:
        return projection
    module, _, name = settings.projection_wrapper.partition(":")
    wrapper = getattr(importlib.import_module(module), name)
    wrapped: Projection[Any] = wrapper(projection)
    return wrapped


def projection_engine(
    settings: Settings,
    pool: AsyncConnectionPool,
    events: EventStore,
    source: EventSource,
    live: Live | None = None,
) -> ProjectionEngine:
    """Every projection with its store. The effects of chat announcements and notices go
    through write-side services of their own, and reach sockets through `live` (default:
    no sockets to reach, for the CLI's dead-letter retries)."""
    live = live or Live(InProcessFeed(), InProcessPresence())
    users = PostgresUserDirectory(pool)
    announcer = ChatAnnouncer(Chat(events), users, live.feed)
    notifier = Notifier(Notifications(events), users, live.feed, live.presence)
    units = []
    for declared, tables in catalogue(announcer, notifier):
        projection = _wrapped(settings, declared)
        schema = ProjectionSchema(pool, tables)
        units.append(
            EngineUnit(
                projection,
                schema,
                Applier(projection, schema.store(), source, retry_policy(settings)),
            )
        )
    return ProjectionEngine(
        settings, units, PostgresEventLog(require_database_url(settings), events), pool, source
    )


def reminders(
    settings: Settings, pool: AsyncConnectionPool, events: EventStore, live: Live
) -> Reminders:
    lead = timedelta(minutes=settings.reminder_lead_minutes)
    return Reminders(pool, Notifications(events), live.feed, lead)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def rate_limiter(settings: Settings) -> tuple[RateLimiter, redis.Redis | None]:
    """Redis when configured (shared by every API instance), else in this process."""
    if settings.redis_url:
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_timeout,
            socket_connect_timeout=settings.redis_timeout,
        )
        return RedisRateLimiter(client, settings.redis_namespace), client
    return InMemoryRateLimiter(), None


@dataclass
class Live:
    """Live delivery to sockets, and who has which room open."""

    feed: LiveFeed
    presence: Presence

    async def close(self) -> None:
        await self.feed.close()
        await self.presence.close()


async def live_services(settings: Settings) -> Live:
    """Redis (pub/sub, expiring keys) when configured: sockets on several API instances.
    Else in this process (embedded mode, or the CLI, which has no sockets)."""
    if not settings.redis_url:
        return Live(InProcessFeed(), InProcessPresence())
    url, namespace, timeout = settings.redis_url, settings.redis_namespace, settings.redis_timeout
    feed = RedisFeed(url, namespace, timeout)
    await feed.start()
    return Live(feed, RedisPresence(url, namespace, timeout))


def token_policy(settings: Settings) -> TokenPolicy:
    return TokenPolicy(
        access_ttl_seconds=settings.access_token_ttl_seconds,
        refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
        refresh_grace_seconds=settings.refresh_grace_seconds,
        ticket_ttl_seconds=settings.ws_ticket_ttl_seconds,
    )


@dataclass
class Container:
    """What the API needs at run time."""

    settings: Settings
    events: EventStore
    planner: TripPlanner
    accounts: Accounts
    trips: TripReadStore
    users: UserDirectory
    changes: ProjectionChanges
    rate_limiter: RateLimiter
    chat: Chat
    chat_history: ChatHistory
    notifications: Notifications
    notification_store: NotificationStore
    sync: SyncService
    sync_feed: SyncFeed
    sync_cursors: CursorCodec
    live: Live
    pool: AsyncConnectionPool
    _sync_pool: ConnectionPool
    _redis: redis.Redis | None
    _closing: list[Any] = field(default_factory=list)  # called (and awaited) in order

    async def projection_health(self) -> list[ProjectionHealth]:
        return await projections_health(
            self.pool,
            list(PROJECTIONS),
            timedelta(seconds=self.settings.projection_stall_seconds),
        )

    async def close(self) -> None:
        for closable in self._closing:
            result = closable()
            if asyncio.iscoroutine(result):
                await result
        await self.live.close()
        await self.pool.close()
        self._sync_pool.close()
        if self._redis is not None:
            self._redis.close()
        self.events.close()


@contextlib.asynccontextmanager
async def api_container(settings: Settings) -> AsyncIterator[Container]:
    """The API's adapters. In embedded mode the projections run beside it, in this process:
    outdated ones are rebuilt and all catch up before the API serves."""
    events = await asyncio.to_thread(build_event_store, settings)
    keys = KeyFolder(settings.keys_folder)
    limiter, redis_client = rate_limiter(settings)
    pool = await open_read_pool(settings)
    sync_pool = ConnectionPool(
        require_database_url(settings),
        min_size=1,
        max_size=settings.db_pool_size,
        kwargs={"autocommit": True},
        open=False,
        timeout=SYNC_POOL_TIMEOUT,
    )
    await asyncio.to_thread(sync_pool.open, True)
    tokens = TokenService(keys, PostgresRevocationStore(sync_pool), token_policy(settings))
    in_process = settings.project_in_process
    live = await live_services(settings)
    changes = PostgresChanges(
        require_database_url(settings),
        notice_channel(events) if in_process else None,
        on_sync_change=sync_poker(live.feed),
    )
    await changes.start()
    planner = TripPlanner(events, settings.default_currency)
    chat = Chat(events)
    cursor_key = await asyncio.to_thread(shared_secret, settings.keys_folder, SYNC_CURSOR_SECRET)
    container = Container(
        settings=settings,
        events=events,
        planner=planner,
        accounts=Accounts(events, tokens),
        trips=PostgresTripReadStore(pool),
        users=PostgresUserDirectory(pool),
        changes=changes,
        rate_limiter=limiter,
        chat=chat,
        chat_history=PostgresChatHistory(pool),
        notifications=Notifications(events),
        notification_store=PostgresNotifications(pool),
        sync=SyncService(events, ChangeApplier(planner, chat), PostgresSyncLog(sync_pool)),
        sync_feed=PostgresSyncFeed(pool, timedelta(seconds=settings.sync_timestamp_margin_seconds)),
        sync_cursors=CursorCodec(cursor_key, settings.sync_cursor_ttl_days * 86400),
        live=live,
        pool=pool,
        _sync_pool=sync_pool,
        _redis=redis_client,
        _closing=[changes.close],
    )
    if settings.project_in_process:
        outbox = OutboxReader(events)
        engine = projection_engine(settings, pool, events, outbox, live)
        container._closing.append(engine.close)
        await engine.rebuild_outdated()
        projector = EmbeddedProjector(
            outbox,
            engine.appliers(),
            batch_size=settings.projection_batch_size,
            pacer=Pacer(slowest=settings.relay_poll_interval),
            new_events=changes.appends(),
        )
        await projector.catch_up()
        await engine.report_parked()
        running = asyncio.create_task(projector.run(), name="embedded-projector")
        container._closing.insert(0, partial(projector.stop, running))
        reminding = asyncio.create_task(
            reminders(settings, pool, events, live).run(settings.reminder_check_seconds),
            name="activity-reminders",
        )
        container._closing.insert(0, partial(_cancel, reminding))
    try:
        yield container
    finally:
        await container.close()
