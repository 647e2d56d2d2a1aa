"""Draft jobs as a process runs them: the planner the settings name (an OpenAI-compatible
model when an API key is set, else the offline scheduler), the quota, the cache of drafts,
and recommendations as the scheduler's candidates."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from psycopg_pool import ConnectionPool

from infra.planner.openai_planner import openai_planner
from infra.postgres.draft_store import PostgresDraftCache
from infra.settings import Settings
from read_side.recommendations import Recommendations
from write_side.event_store import EventStore
from write_side.planner.drafting import Idea, Limits
from write_side.planner.jobs import DraftJobs, JobSettings
from write_side.planner.ports import ItineraryPlanner
from write_side.planner.quota import Quotas
from write_side.planner.scheduler import OfflineScheduler
from write_side.trips.itinerary import ActivityType

CANDIDATES = 20  # recommendations offered to the scheduler per draft


class RecommendedCandidates:
    """Recommended activities as ideas the scheduler may place."""

    def __init__(self, recommendations: Recommendations) -> None:
        self._recommendations = recommendations

    async def candidates(self, trip_id: UUID, interests: tuple[str, ...]) -> list[Idea]:
        found = await self._recommendations.for_trip(trip_id, interests=interests, limit=CANDIDATES)
        return [
            Idea(
                key=f"recommended:{s.key}",
                title=s.title,
                description=s.description,
                activity_type=_activity_type(s.activity_type),
                source="candidate",
                destination_id=s.near_destination_id,
                lat=s.lat,
                lng=s.lng,
                cost=s.cost,
                currency=s.currency,
                reason=s.reason,
            )
            for s in found
            if s.kind == "activity"
        ]


def _activity_type(name: str | None) -> ActivityType:
    try:
        return ActivityType(name or ActivityType.OTHER)
    except ValueError:
        return ActivityType.OTHER


def itinerary_planner(settings: Settings) -> ItineraryPlanner:
    return openai_planner(settings) or OfflineScheduler()


def draft_jobs(
    settings: Settings,
    events: EventStore,
    pool: ConnectionPool,
    recommendations: Recommendations | None,
    planner: ItineraryPlanner | None = None,
) -> DraftJobs:
    return DraftJobs(
        events,
        planner or itinerary_planner(settings),
        Quotas(events, settings.planner_daily_quota),
        PostgresDraftCache(pool, timedelta(seconds=settings.planner_cache_seconds)),
        None if recommendations is None else RecommendedCandidates(recommendations),
        JobSettings(
            limits=Limits(),
            reasks=settings.planner_reasks,
            max_attempts=settings.planner_max_attempts,
        ),
    )
