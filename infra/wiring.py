"""The one place that builds concrete adapters and hands them to the application layers.

Nothing here runs at import time: every client is built by a function call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any
from uuid import UUID

import redis
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from infra.database import (
    build_event_store,
    open_read_pool,
    require_database_url,
)
from infra.embeddings import embedder
from infra.engine_wiring import reminders
from infra.identity.keys import KeyFolder, shared_secret
from infra.identity.memory_stores import InMemoryRateLimiter
from infra.identity.postgres_stores import AsyncPostgresRevocations, PostgresRevocationStore
from infra.identity.redis_stores import RedisRateLimiter
from infra.identity.verified_tokens import VerifiedTokens
from infra.live.services import Live, live_services
from infra.media.wiring import avatar_service, media_folder
from infra.observability import metrics
from infra.observability.exposition import readiness_body, render_metrics
from infra.observability.health import Check, check, dependency_probes
from infra.observability.logs import configure_logging_once
from infra.observability.recorders import sample_forever
from infra.observability.tracing import current_traceparent, instrument_app
from infra.planner.jobs_wiring import draft_jobs
from infra.planner.runner import DraftRunner
from infra.postgres.analytics_store import PostgresAnalytics
from infra.postgres.changes import PostgresChanges
from infra.postgres.chat_history import PostgresChatHistory
from infra.postgres.draft_store import PostgresDrafts
from infra.postgres.housekeeping import periodic_purge
from infra.postgres.notifications import PostgresNotifications
from infra.postgres.projections.status import projections_health
from infra.postgres.read_store import PostgresTripReadStore
from infra.postgres.recommendation_store import recommendations
from infra.postgres.sync_feed import PostgresSyncFeed
from infra.postgres.sync_log import PostgresSyncLog
from infra.postgres.user_directory import PostgresUserDirectory
from infra.projecting_thread import ProjectingThread
from infra.settings import Settings
from infra.sync_pokes import sync_poker
from infra.write_pacing import WritePacing
from projections.catalogue import PROJECTIONS
from projections.engine.lag import ProjectionHealth
from read_side.analytics import AnalyticsStore
from read_side.chat import ChatHistory
from read_side.drafts import DraftStore
from read_side.notifications import NotificationStore
from read_side.recommendations import Recommendations
from read_side.store import ProjectionChanges, TripReadStore
from read_side.sync import SyncFeed
from read_side.sync_cursor import CursorCodec
from read_side.users import UserDirectory
from write_side.avatars.service import Avatars
from write_side.chat.service import Chat
from write_side.event_store import EventStore
from write_side.identity.accounts import Accounts
from write_side.identity.ports import RateLimiter
from write_side.identity.tokens import TokenPolicy, TokenService
from write_side.notifications.service import Notifications
from write_side.planner.acceptance import DraftAcceptance
from write_side.planner.jobs import DraftJobs
from write_side.sync.apply import ChangeApplier
from write_side.sync.service import SyncService
from write_side.trips.planner import TripPlanner

__all__ = [
    "Check",
    "Container",
    "Settings",
    "api_container",
    "configure_logging_once",
    "current_traceparent",
    "instrument_app",
    "media_folder",
    "metrics",
    "readiness_body",
    "render_metrics",
]

log = logging.getLogger(__name__)

# How long a request waits for a connection of the API's synchronous pool (token checks,
# revocations) before it is refused with 503: an unreachable PostgreSQL must not hold
# every request for psycopg_pool's default 30 s.
SYNC_POOL_TIMEOUT = 5.0
SYNC_CURSOR_SECRET = "sync-cursor.secret"  # in the keys folder: every API instance signs alike


CANCEL_AGAIN_SECONDS = 0.5


async def _cancel(task: asyncio.Task[None]) -> None:
    """Cancel the task and wait for its end. A cancellation swallowed on its way (seen
    inside a connection pool's checkout) would leave it running and its closer waiting for
    ever: it is cancelled again until it ends."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=CANCEL_AGAIN_SECONDS)
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


def events_table(events: EventStore) -> sql.Identifier:
    """The event store's table, for reads that ask a trip's version in their own statement."""
    recorder: Any = events.recorder
    return sql.Identifier(recorder.datastore.schema, recorder.events_table_name)


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
    write_pacing: WritePacing
    rate_limiter: RateLimiter
    chat: Chat
    chat_history: ChatHistory
    notifications: Notifications
    notification_store: NotificationStore
    sync: SyncService
    sync_feed: SyncFeed
    sync_cursors: CursorCodec
    analytics: AnalyticsStore
    recommendations: Recommendations
    drafts: DraftStore
    draft_jobs: DraftJobs
    draft_acceptance: DraftAcceptance
    live: Live
    verified_tokens: VerifiedTokens
    pool: AsyncConnectionPool
    _sync_pool: ConnectionPool
    _redis: redis.Redis | None
    _closing: list[Any] = field(default_factory=list)  # called (and awaited) in order
    _draft_runner: DraftRunner | None = None  # embedded mode: draft jobs run here
    avatars: Avatars = field(init=False)  # set once the container is built

    def submit_draft(self, draft_id: UUID) -> None:
        """A draft was asked for: in embedded mode its job starts here now; in distributed
        mode the planner role takes it from `planner-events`."""
        if self._draft_runner is not None:
            self._draft_runner.submit(draft_id)

    async def projection_health(self) -> list[ProjectionHealth]:
        return await projections_health(
            self.pool,
            list(PROJECTIONS),
            timedelta(seconds=self.settings.projection_stall_seconds),
        )

    async def health(self, *names: str) -> list[Check]:
        """Probe the dependencies named that this deployment uses (PostgreSQL always, Redis
        when configured, Kafka when named explicitly); each answers within the health
        timeout. An empty list: none of them is used here."""
        found = dependency_probes(self.settings, kafka=self.settings.kafka_configured)
        probes = {name: probe for name, probe in found.items() if name in names}
        return await check(probes, self.settings.health_timeout_seconds) if probes else []

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
    in_process = settings.project_in_process
    live = await live_services(settings)
    pacing = WritePacing(settings.write_pacing_limit, settings.consistency_timeout)
    changes = PostgresChanges(
        require_database_url(settings), on_sync_change=sync_poker(live.feed), pacing=pacing
    )
    await changes.start()
    revocations = PostgresRevocationStore(sync_pool, on_revoked=changes.revoked_here)
    tokens = TokenService(keys, revocations, token_policy(settings))
    planner = TripPlanner(events, settings.default_currency)
    chat = Chat(events)
    suggestions = recommendations(settings, pool)
    jobs = draft_jobs(settings, events, sync_pool, suggestions)
    cursor_key = await asyncio.to_thread(shared_secret, settings.keys_folder, SYNC_CURSOR_SECRET)
    container = Container(
        settings=settings,
        events=events,
        planner=planner,
        accounts=Accounts(
            events, tokens, unverified_found_by_email=settings.unverified_found_by_email
        ),
        trips=PostgresTripReadStore(pool, events_table(events)),
        users=PostgresUserDirectory(pool),
        changes=changes,
        write_pacing=pacing,
        rate_limiter=limiter,
        chat=chat,
        chat_history=PostgresChatHistory(pool),
        notifications=Notifications(events),
        notification_store=PostgresNotifications(pool),
        sync=SyncService(events, ChangeApplier(planner, chat), PostgresSyncLog(sync_pool)),
        analytics=PostgresAnalytics(pool),
        recommendations=suggestions,
        drafts=PostgresDrafts(pool),
        draft_jobs=jobs,
        draft_acceptance=DraftAcceptance(events, planner),
        sync_feed=PostgresSyncFeed(pool, timedelta(seconds=settings.sync_timestamp_margin_seconds)),
        sync_cursors=CursorCodec(cursor_key, settings.sync_cursor_ttl_days * 86400),
        live=live,
        verified_tokens=VerifiedTokens(
            tokens, keys, AsyncPostgresRevocations(pool), notices=changes
        ),
        pool=pool,
        _sync_pool=sync_pool,
        _redis=redis_client,
        _closing=[changes.close, jobs.close],
    )
    container.avatars = avatar_service(settings, events)
    sampled: dict[str, AsyncConnectionPool | ConnectionPool] = {"read": pool, "sync": sync_pool}
    if settings.project_in_process:
        # The embedding model loads before the API serves, not in the projector's first
        # batch (which it would hold up, and every projection with it, for seconds).
        await asyncio.to_thread(embedder(settings).embed, ["itinera"])
        projecting = ProjectingThread(settings, events, live)
        container._closing.insert(0, projecting.stop)
        sampled["projections"] = await projecting.start()
        reminding = asyncio.create_task(
            reminders(settings, pool, events, live).run(settings.reminder_check_seconds),
            name="activity-reminders",
        )
        container._closing.insert(0, partial(_cancel, reminding))
        purging = asyncio.create_task(periodic_purge(settings).run(), name="housekeeping")
        container._closing.insert(0, partial(_cancel, purging))
        runner = DraftRunner(
            jobs,
            container.drafts,
            concurrency=settings.planner_concurrency,
            every=settings.planner_sweep_seconds,
        )
        container._draft_runner = runner
        drafting = asyncio.create_task(runner.run(), name="draft-jobs")
        container._closing.insert(0, partial(runner.stop, drafting))
    sampling = asyncio.create_task(
        sample_forever(
            sampled,
            projections=(pool, timedelta(seconds=settings.projection_stall_seconds))
            if in_process
            else None,
        ),
        name="metrics-sampler",
    )
    container._closing.insert(0, partial(_cancel, sampling))
    try:
        yield container
    finally:
        await container.close()
