"""The projection engine as a process runs it: every projection with its tables, appliers,
rebuilds and dead letters, and the reminders' timer."""

from __future__ import annotations

import asyncio
import importlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from psycopg_pool import AsyncConnectionPool

from infra.chat_announcer import ChatAnnouncer
from infra.database import require_database_url
from infra.embeddings import embedder
from infra.exchange_rates import ExchangeRates
from infra.live.memory_feed import InProcessFeed, InProcessPresence
from infra.live.services import Live
from infra.mail.delivery import account_mail_effect
from infra.notifier import Notifier
from infra.observability.recorders import projection_applied
from infra.postgres.event_log import PostgresEventLog
from infra.postgres.projections.analytics_tables import FactPublisher
from infra.postgres.projections.catalogue import catalogue
from infra.postgres.projections.dead_letters import DeadLetters
from infra.postgres.projections.schema import (
    ProjectionSchema,
    RebuildRunningError,
)
from infra.postgres.projections.status import projections_health
from infra.postgres.user_directory import PostgresUserDirectory
from infra.progress import LineProgress
from infra.rebuild_jobs import jobs_for, parallel_scan
from infra.reminders import Reminders
from infra.settings import Settings
from infra.system_notices import SystemNotices
from projections.engine.applier import Applier, RetryPolicy
from projections.engine.live import LiveProjection
from projections.engine.ports import EventSource
from projections.engine.projection import Projection
from projections.engine.rebuild import Progress, RebuildReport, rebuild
from write_side.chat.service import Chat
from write_side.event_store import EventStore
from write_side.notifications.service import Notifications

log = logging.getLogger(__name__)


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
    notices: SystemNotices | None = None

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
        report = await rebuild(
            unit.projection, unit.schema, self.events, progress=progress, parallel=parallel
        )
        if self.notices is not None:
            await asyncio.to_thread(
                self.notices.projection_rebuilt,
                report.projection,
                report.version,
                report.events,
                report.parked,
                report.seconds,
            )
        return report

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
    facts: FactPublisher | None = None,
    notices: SystemNotices | None = None,
) -> ProjectionEngine:
    """Every projection with its store. The effects of chat announcements and notices go
    through write-side services of their own, and reach sockets through `live` (default:
    no sockets to reach, for the CLI's dead-letter retries); analytics facts are published
    through `facts`, and parked aggregates and rebuilds told to `notices` (distributed mode;
    embedded mode has no Kafka to publish them to)."""
    live = live or Live(InProcessFeed(), InProcessPresence())
    users = PostgresUserDirectory(pool)
    announcer = ChatAnnouncer(Chat(events), users, live.feed)
    notifier = Notifier(Notifications(events), users, live.feed, live.presence)
    units = []
    rates = ExchangeRates(settings.analytics_rates)
    embed = embedder(settings)
    mail = account_mail_effect(settings, events, pool)
    for declared, tables in catalogue(announcer, notifier, facts, rates, embed, mail):
        projection = _wrapped(settings, declared)
        schema = ProjectionSchema(pool, tables)
        units.append(
            EngineUnit(
                projection,
                schema,
                Applier(
                    projection,
                    schema.store(),
                    source,
                    retry_policy(settings),
                    on_parked=None if notices is None else notices.projection_parked_async,
                    on_applied=projection_applied,
                ),
            )
        )
    return ProjectionEngine(
        settings,
        units,
        PostgresEventLog(require_database_url(settings), events),
        pool,
        source,
        notices,
    )


def reminders(
    settings: Settings, pool: AsyncConnectionPool, events: EventStore, live: Live
) -> Reminders:
    lead = timedelta(minutes=settings.reminder_lead_minutes)
    return Reminders(pool, Notifications(events), live.feed, lead)
