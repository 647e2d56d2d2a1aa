"""What moves the metrics: observers handed to the event store and the projection engine,
and the sampler that reads the figures kept in PostgreSQL (projection lags, parked, pool
usage); the relay's backlog has its own (`infra.observability.roles`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from psycopg_pool import AsyncConnectionPool, ConnectionPool

from infra.observability import metrics
from infra.observability.tracing import projection_spans
from infra.postgres.projections.status import projections_health
from projections.catalogue import PROJECTIONS
from projections.engine.applier import Outcome
from projections.engine.ports import Delivery
from streams.published_event import event_of
from write_side.planner.draft import ItineraryDraft

log = logging.getLogger(__name__)

SAMPLE_SECONDS = 5.0
DRAFT_COMPLETED = event_of(ItineraryDraft, "Completed")
DRAFT_FAILED = event_of(ItineraryDraft, "Failed")


def count_saved_events(new_events: Sequence[object]) -> None:
    """Events appended, by type; a draft's outcome, tokens and cost as it is recorded."""
    for event in new_events:
        metrics.EVENTS_APPENDED.labels(type(event).__qualname__).inc()
        if isinstance(event, DRAFT_COMPLETED):
            _count_draft_usage(event.usage)
        elif isinstance(event, DRAFT_FAILED):
            metrics.PLANNER_JOBS.labels(event.reason).inc()


def _count_draft_usage(usage: dict[str, Any]) -> None:
    metrics.PLANNER_JOBS.labels("cached" if usage.get("cached") else "ready").inc()
    metrics.PLANNER_TOKENS.labels("input").inc(int(usage.get("tokens_in") or 0))
    metrics.PLANNER_TOKENS.labels("output").inc(int(usage.get("tokens_out") or 0))
    try:
        cost = Decimal(str(usage.get("cost") or 0))
    except InvalidOperation:
        log.warning("a draft's usage holds an unreadable cost: %r", usage.get("cost"))
        return
    metrics.PLANNER_COST.inc(float(cost))


def projection_applied(
    projection: str, deliveries: Sequence[Delivery], outcome: Outcome, started_ns: int
) -> None:
    metrics.PROJECTION_APPLIED.labels(projection).inc(outcome.applied)
    projection_spans(projection, deliveries, outcome, started_ns)


def sample_pools(pools: dict[str, AsyncConnectionPool | ConnectionPool]) -> None:
    for name, pool in pools.items():
        stats = pool.get_stats()
        size = stats.get("pool_size", 0)
        metrics.DB_POOL.labels(name, "size").set(size)
        metrics.DB_POOL.labels(name, "idle").set(stats.get("pool_available", 0))
        metrics.DB_POOL.labels(name, "waiting").set(stats.get("requests_waiting", 0))


async def sample_projections(pool: AsyncConnectionPool, stall_after: timedelta) -> None:
    for health in await projections_health(pool, list(PROJECTIONS), stall_after):
        metrics.PROJECTION_LAG_EVENTS.labels(health.name).set(health.lag_events)
        metrics.PROJECTION_LAG_SECONDS.labels(health.name).set(health.lag_seconds)
        metrics.PROJECTION_PARKED.labels(health.name).set(health.parked)


async def sample_forever(
    pools: dict[str, AsyncConnectionPool | ConnectionPool],
    *,
    projections: tuple[AsyncConnectionPool, timedelta] | None = None,
    every: float = SAMPLE_SECONDS,
) -> None:
    """Refresh the gauges read from PostgreSQL every `every` seconds until cancelled; a
    failed look is logged and tried again (the figures then keep their last value)."""
    while True:
        try:
            sample_pools(pools)
            if projections is not None:
                await sample_projections(*projections)
        except Exception as error:  # a metric must never stop the process it measures
            log.warning("metrics not sampled: %s", error)
        await asyncio.sleep(every)
