"""The draft job: asked for by a member, run by a worker (the planner role, or in-process),
recorded as the draft's events. The draft's id is the job's identity: a job that crashed is
started again (its attempts counted, its quota charged once); a finished one is never run
again, and of two runners finishing the same job the event store keeps one outcome."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.persistence import IntegrityError

from write_side.context import SYSTEM, CommandContext, acting_as, event_id_of
from write_side.errors import DomainError, TripNotFoundError
from write_side.event_store import EventStore
from write_side.planner.checked import CheckedDraft, checked_draft
from write_side.planner.document import DOCUMENT_VERSION, from_document, to_document, with_ids
from write_side.planner.draft import DraftStatus, ItineraryDraft
from write_side.planner.drafting import Idea, Limits, PlanningRequest, Preferences
from write_side.planner.errors import DraftNotFoundError, QuotaExceededError
from write_side.planner.ports import ItineraryPlanner, PlannerFailure
from write_side.planner.quota import Quotas
from write_side.planner.trip_request import planning_request, preferences_of
from write_side.trips.access import Action
from write_side.trips.command_record import earlier_result, records_of
from write_side.trips.commands import CommandResult
from write_side.trips.trip import Trip

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachedDraft:
    document: dict[str, Any]  # without item ids
    usage: dict[str, Any]


class DraftCache(Protocol):
    """Drafts recently made for an identical request (same trip content, preferences,
    candidates, model and document version); the adapter forgets them after its window."""

    def get(self, key: str) -> CachedDraft | None: ...

    def put(self, key: str, cached: CachedDraft) -> None: ...


class CandidateSource(Protocol):
    """Recommendations for a trip, as ideas the scheduler may place."""

    async def candidates(self, trip_id: UUID, interests: tuple[str, ...]) -> list[Idea]: ...


@dataclass(frozen=True)
class JobSettings:
    limits: Limits = field(default_factory=Limits)
    reasks: int = 2
    max_attempts: int = 3  # starts of one job (crashes included) before it is failed
    cache: bool = True


def cache_key(request: PlanningRequest, model: str) -> str:
    normalised = json.dumps(asdict(request), sort_keys=True, default=str, separators=(",", ":"))
    text = f"{model}\n{DOCUMENT_VERSION}\n{normalised}"
    return hashlib.sha256(text.encode()).hexdigest()


def recorded_preferences(preferences: Preferences) -> dict[str, Any]:
    """Preferences as the request event records them (JSON values)."""
    recorded = asdict(preferences)
    recorded["pace"] = preferences.pace.value
    recorded["budget"] = None if preferences.budget is None else str(preferences.budget)
    for name in ("interests", "must_see", "avoid"):
        recorded[name] = list(recorded[name])
    return recorded


class DraftJobs:
    def __init__(
        self,
        events: EventStore,
        planner: ItineraryPlanner,
        quotas: Quotas,
        cache: DraftCache | None = None,
        candidates: CandidateSource | None = None,
        settings: JobSettings = JobSettings(),
    ) -> None:
        self._events = events
        self._planner = planner
        self._quotas = quotas
        self._cache = cache
        self._candidates = candidates
        self._settings = settings

    @property
    def model(self) -> str:
        return self._planner.model

    async def close(self) -> None:
        await self._planner.aclose()

    # --- asking --------------------------------------------------------------------------

    def request(
        self, trip_id: UUID, preferences: Preferences, context: CommandContext
    ) -> CommandResult:
        """Ask for a draft of the trip (editors and owners). Returns the draft's id; the
        job runs later. A keyed request asked again answers its first draft."""
        if (earlier := earlier_result(self._events, context)) is not None:
            return earlier
        trip = self._events.find(trip_id, Trip)
        if trip is None:
            raise TripNotFoundError(trip_id)
        trip.authorize(context.actor_id, Action.EDIT)
        self._quotas.check(context.actor_id, _today())
        draft_id = (
            uuid4()
            if context.key is None
            else uuid5(NAMESPACE_URL, f"/itinerary-draft/{context.actor_id}/{context.key.key}")
        )
        with acting_as(context):
            draft = ItineraryDraft(
                draft_id=draft_id,
                trip_id=trip_id,
                requested_by=context.actor_id,
                preferences=recorded_preferences(preferences),
                trip_version=trip.version,
            )
            result = CommandResult(draft_id, trip_id, draft.version)
            records = records_of(context, result)
        try:
            self._events.save(draft, *records)
        except IntegrityError:
            if (earlier := earlier_result(self._events, context)) is not None:
                return earlier  # a twin request recorded it first
            raise
        return result

    def draft(self, draft_id: UUID) -> ItineraryDraft:
        found = self._events.find(draft_id, ItineraryDraft)
        if found is None:
            raise DraftNotFoundError(draft_id)
        return found

    # --- running -------------------------------------------------------------------------

    async def run(self, draft_id: UUID) -> DraftStatus:
        """Run the job unless it is finished; returns the draft's status after."""
        draft = await asyncio.to_thread(self.draft, draft_id)
        if draft.finished:
            return draft.status
        context = _job_context(draft_id)
        if draft.attempts >= self._settings.max_attempts:
            refunded = await self._refund(draft, context)
            return await self._fail(draft, "too_many_attempts", "The job kept crashing", refunded)
        trip = await asyncio.to_thread(self._events.find, draft.trip_id, Trip)
        try:
            if trip is None:
                raise TripNotFoundError(draft.trip_id)
            trip.authorize(draft.requested_by, Action.EDIT)
        except DomainError as error:  # the trip is gone, or the requester may no longer edit
            return await self._fail(draft, "not_allowed", str(error), refunded=False)
        preferences = preferences_of(draft.preferences)
        request = planning_request(trip, preferences, await self._ideas(trip.id, preferences))
        key = cache_key(request, self._planner.model)
        if (cached := await self._cached(key)) is not None:
            free = {"tokens_in": 0, "tokens_out": 0, "cost": "0", "reasks": 0, "cached": True}
            return await self._complete(draft, cached.document, {**cached.usage, **free})
        day = draft.charged_on or _today()
        try:
            await asyncio.to_thread(self._quotas.charge, draft.requested_by, day, draft_id, context)
        except QuotaExceededError as error:
            return await self._fail(draft, "quota_exceeded", str(error), refunded=False)
        if not await self._start(draft, trip.version, day, context):
            return (await asyncio.to_thread(self.draft, draft_id)).status
        return await self._plan(draft, request, key, context)

    async def _plan(
        self, draft: ItineraryDraft, request: PlanningRequest, key: str, context: CommandContext
    ) -> DraftStatus:
        began = time.monotonic()
        try:
            checked = await checked_draft(
                self._planner, request, self._settings.limits, self._settings.reasks
            )
        except PlannerFailure as failure:
            refunded = False if failure.user_fault else await self._refund(draft, context)
            return await self._fail(draft, failure.code, failure.message, refunded)
        usage = _usage(checked, time.monotonic() - began)
        document = to_document(checked.draft)
        if self._cache is not None and self._settings.cache:
            await asyncio.to_thread(self._cache.put, key, CachedDraft(document, usage))
        return await self._complete(draft, document, usage)

    async def _ideas(self, trip_id: UUID, preferences: Preferences) -> list[Idea]:
        if self._candidates is None:
            return []
        try:
            return await self._candidates.candidates(trip_id, preferences.interests)
        except Exception:  # recommendations help; a draft is still made without them
            log.warning("recommendations unavailable for trip %s", trip_id, exc_info=True)
            return []

    async def _cached(self, key: str) -> CachedDraft | None:
        if self._cache is None or not self._settings.cache:
            return None
        return await asyncio.to_thread(self._cache.get, key)

    async def _start(
        self, draft: ItineraryDraft, trip_version: int, charged_on: date, context: CommandContext
    ) -> bool:
        with acting_as(context):
            draft.start(
                attempt=draft.attempts + 1,
                model=self._planner.model,
                trip_version=trip_version,
                charged_on=charged_on,
            )
        return await self._save(draft)

    async def _complete(
        self, draft: ItineraryDraft, document: dict[str, Any], usage: dict[str, Any]
    ) -> DraftStatus:
        identified = to_document(with_ids(draft.id, from_document(document)))
        with acting_as(_job_context(draft.id)):
            draft.complete(document=identified, usage=usage)
        await self._save(draft)
        return (await asyncio.to_thread(self.draft, draft.id)).status

    async def _fail(
        self, draft: ItineraryDraft, reason: str, message: str, refunded: bool
    ) -> DraftStatus:
        log.info("itinerary draft %s failed: %s", draft.id, reason)
        with acting_as(_job_context(draft.id)):
            draft.fail(reason=reason, message=message[:500], refunded=refunded)
        await self._save(draft)
        return (await asyncio.to_thread(self.draft, draft.id)).status

    async def _refund(self, draft: ItineraryDraft, context: CommandContext) -> bool:
        await asyncio.to_thread(
            self._quotas.refund, draft.requested_by, _day_of(draft), draft.id, context
        )
        return True

    async def _save(self, draft: ItineraryDraft) -> bool:
        """Save; False when another runner moved the draft first (it decides the outcome)."""
        try:
            await asyncio.to_thread(self._events.save, draft)
        except IntegrityError:
            return False
        return True


def _usage(checked: CheckedDraft, seconds: float) -> dict[str, Any]:
    usage = checked.usage
    return {
        "model": usage.model,
        "tokens_in": usage.tokens_in,
        "tokens_out": usage.tokens_out,
        "cost": str(usage.cost),
        "currency": usage.currency,
        "attempts": usage.attempts,
        "reasks": checked.reasks,
        "repaired": [
            {"path": p.path, "code": p.code, "message": p.message} for p in checked.repaired
        ],
        "seconds": round(seconds, 3),
        "cached": False,
    }


def _job_context(draft_id: UUID) -> CommandContext:
    """The job acts as the system, correlated by the draft, caused by its request (the
    draft's first event)."""
    return CommandContext(SYSTEM, draft_id, causation_id=event_id_of(draft_id, 1))


def _today() -> date:
    return datetime.now(UTC).date()


def _day_of(draft: ItineraryDraft) -> date:
    return draft.charged_on or _today()
