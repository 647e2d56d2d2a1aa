"""The draft job and acceptance against the in-memory event store: a job runs once, resumes
after a crash without charging twice, fails with a defined reason (refunded or not), hits
the cache for an identical request; acceptance turns items into trip commands, item by
item, idempotently, re-checked against the trip as it is."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.unit.test_trip_lifecycle import new_user
from write_side.context import CommandContext, CommandKey
from write_side.errors import ForbiddenError, TripNotFoundError
from write_side.event_store import EventStore
from write_side.planner.acceptance import DraftAcceptance
from write_side.planner.draft import DraftStatus, ItineraryDraft
from write_side.planner.drafting import (
    Draft,
    Pace,
    Planned,
    PlanningRequest,
    Preferences,
    Problem,
    Usage,
)
from write_side.planner.errors import (
    DraftNotReadyError,
    QuotaExceededError,
    UnknownDraftItemError,
)
from write_side.planner.jobs import CachedDraft, DraftJobs, JobSettings
from write_side.planner.ports import PlannerRefusedError, PlannerTimeoutError
from write_side.planner.quota import Quotas
from write_side.planner.scheduler import OfflineScheduler
from write_side.trips.access import Role
from write_side.trips.commands import (
    AddActivity,
    AddDestination,
    AddMember,
    PlanTrip,
    RemoveDestination,
    RemoveMember,
)
from write_side.trips.itinerary import ActivityType
from write_side.trips.planner import TripPlanner


class CountingPlanner:
    """The offline scheduler, counting calls; `failures` are raised first, in order."""

    def __init__(self, *failures: Exception) -> None:
        self.calls = 0
        self._failures = list(failures)
        self._scheduler = OfflineScheduler()

    @property
    def model(self) -> str:
        return self._scheduler.model

    async def plan(self, request: PlanningRequest, feedback: Sequence[Problem] = ()) -> Planned:
        self.calls += 1
        if self._failures:
            raise self._failures.pop(0)
        planned = await self._scheduler.plan(request, feedback)
        usage = Usage(model="counting", tokens_in=10, tokens_out=20, cost=Decimal("0.01"))
        return Planned(planned.draft, usage)

    async def aclose(self) -> None:
        return None


class MemoryCache:
    def __init__(self) -> None:
        self.kept: dict[str, CachedDraft] = {}

    def get(self, key: str) -> CachedDraft | None:
        return self.kept.get(key)

    def put(self, key: str, cached: CachedDraft) -> None:
        self.kept[key] = cached


class World:
    def __init__(self, planner: CountingPlanner, quota: int = 5, cache: bool = False) -> None:
        self.events = EventStore()
        self.trips = TripPlanner(self.events)
        self.planner = planner
        self.quotas = Quotas(self.events, quota)
        self.cache = MemoryCache()
        self.jobs = DraftJobs(
            self.events,
            planner,
            self.quotas,
            self.cache if cache else None,
            settings=JobSettings(max_attempts=3),
        )
        self.acceptance = DraftAcceptance(self.events, self.trips)
        self.owner = CommandContext(uuid4(), uuid4())
        self.trip_id = self.trips.plan_trip(
            PlanTrip("Lisbon", "", date(2027, 5, 1), date(2027, 5, 3), currency="EUR"), self.owner
        ).id
        self.lisbon = self.trips.add_destination(
            AddDestination(
                self.trip_id,
                "Lisbon",
                "",
                {"lat": 38.72, "lng": -9.14},
                date(2027, 5, 1),
                date(2027, 5, 3),
            ),
            self.owner,
        ).id
        self.ideas = [
            self.trips.add_activity(
                AddActivity(self.lisbon, title, "", kind, cost=Decimal(cost)), self.owner
            ).id
            for title, kind, cost in (
                ("Jerónimos Monastery", ActivityType.SIGHTSEEING, "10"),
                ("Time Out Market", ActivityType.RESTAURANT, "25"),
                ("Tram 28", ActivityType.TRANSPORT, "3"),
            )
        ]

    def member(self, role: Role) -> CommandContext:
        user = CommandContext(new_user(self.trips), uuid4())
        self.trips.add_member(AddMember(self.trip_id, user.actor_id, role), self.owner)
        return user

    def ask(self, who: CommandContext | None = None, **preferences: Any) -> UUID:
        result = self.jobs.request(self.trip_id, Preferences(**preferences), who or self.owner)
        return result.id

    def run(self, draft_id: UUID) -> DraftStatus:
        return asyncio.run(self.jobs.run(draft_id))

    def draft(self, draft_id: UUID) -> ItineraryDraft:
        return self.jobs.draft(draft_id)


def test_a_job_drafts_the_trips_ideas_once_and_never_again() -> None:
    world = World(CountingPlanner())
    draft_id = world.ask()
    assert world.draft(draft_id).status == DraftStatus.QUEUED
    assert world.run(draft_id) == DraftStatus.READY
    draft = world.draft(draft_id)
    assert draft.document is not None
    items = [i for day in draft.document["days"] for i in day["items"]]
    assert {i["idea_key"] for i in items} == {str(i) for i in world.ideas}
    assert all(i["item_id"] for i in items)
    version = draft.version
    assert world.run(draft_id) == DraftStatus.READY  # redelivered: nothing runs
    assert world.planner.calls == 1
    assert world.draft(draft_id).version == version
    assert world.quotas.used(world.owner.actor_id, datetime.now().date()) in (0, 1)


def test_a_keyed_request_asked_twice_is_one_draft() -> None:
    world = World(CountingPlanner())
    keyed = CommandContext(world.owner.actor_id, uuid4(), key=CommandKey("k1", "same"))
    first = world.jobs.request(world.trip_id, Preferences(), keyed)
    second = world.jobs.request(world.trip_id, Preferences(), keyed)
    assert second.id == first.id and second.replayed


def test_viewers_and_strangers_cannot_ask() -> None:
    world = World(CountingPlanner())
    with pytest.raises(ForbiddenError):
        world.ask(world.member(Role.VIEWER))
    with pytest.raises(TripNotFoundError):
        world.ask(CommandContext(uuid4(), uuid4()))
    world.ask(world.member(Role.EDITOR))  # editors may


def test_the_daily_quota_is_charged_once_per_job_and_refused_beyond() -> None:
    world = World(CountingPlanner(), quota=1)
    first = world.ask()
    second = world.ask()  # asked before the first ran: the job finds the allowance used
    assert world.run(first) == DraftStatus.READY
    assert world.run(second) == DraftStatus.FAILED
    assert world.quotas.used(world.owner.actor_id, world.draft(first).charged_on or date.min) == 1
    with pytest.raises(QuotaExceededError):
        world.ask()


def test_a_refusal_is_the_users_doing_and_is_not_refunded_a_timeout_is() -> None:
    world = World(CountingPlanner(PlannerRefusedError("no"), PlannerTimeoutError("slow")))
    refused, timed_out = world.ask(), world.ask()
    assert world.run(refused) == DraftStatus.FAILED
    assert world.run(timed_out) == DraftStatus.FAILED
    day = world.draft(refused).charged_on
    assert day is not None
    assert world.quotas.used(world.owner.actor_id, day) == 1  # the refusal's charge stays


def test_a_crashed_job_resumes_charges_once_and_gives_up_after_its_attempts() -> None:
    world = World(CountingPlanner(RuntimeError("killed"), RuntimeError("killed again")))
    draft_id = world.ask()
    for _ in range(2):
        with pytest.raises(RuntimeError):
            world.run(draft_id)
        assert world.draft(draft_id).status == DraftStatus.RUNNING
    day = world.draft(draft_id).charged_on
    assert day is not None and world.quotas.used(world.owner.actor_id, day) == 1
    assert world.run(draft_id) == DraftStatus.READY  # the third start succeeds
    assert world.draft(draft_id).attempts == 3

    stuck = World(CountingPlanner(*[RuntimeError("poison")] * 3))
    poisoned = stuck.ask()
    for _ in range(3):
        with pytest.raises(RuntimeError):
            stuck.run(poisoned)
    assert stuck.run(poisoned) == DraftStatus.FAILED  # too many attempts, refunded
    assert (
        stuck.quotas.used(stuck.owner.actor_id, stuck.draft(poisoned).charged_on or date.min) == 0
    )


def test_an_identical_request_is_answered_from_the_cache_with_its_own_item_ids() -> None:
    world = World(CountingPlanner(), cache=True)
    first, second = world.ask(pace=Pace.RELAXED), world.ask(pace=Pace.RELAXED)
    world.run(first)
    world.run(second)
    assert world.planner.calls == 1
    one, two = world.draft(first).document, world.draft(second).document
    assert one is not None and two is not None
    assert item_ids(one).isdisjoint(item_ids(two))
    assert world.draft(second).status == DraftStatus.READY
    charged_on = world.draft(first).charged_on
    assert charged_on is not None
    assert world.quotas.used(world.owner.actor_id, charged_on) == 1  # the cached one is free
    world.run(world.ask(pace=Pace.PACKED))  # another request misses the cache
    assert world.planner.calls == 2
    assert len(world.cache.kept) == 2


def item_ids(document: dict[str, Any]) -> set[str]:
    return {i["item_id"] for day in document["days"] for i in day["items"]}


def ready(world: World) -> tuple[UUID, list[dict[str, Any]]]:
    draft_id = world.ask()
    assert world.run(draft_id) == DraftStatus.READY
    document = world.draft(draft_id).document
    assert document is not None
    return draft_id, [i for day in document["days"] for i in day["items"]]


def test_accepting_schedules_the_ideas_and_accepting_again_changes_nothing() -> None:
    world = World(CountingPlanner())
    draft_id, items = ready(world)
    accepted = world.acceptance.accept(draft_id, None, world.owner)
    assert {o.outcome for o in accepted.outcomes} == {"accepted"}
    trip = world.trips.get_trip(world.trip_id)
    activities = trip.destinations[world.lisbon].activities
    for item in items:
        activity = activities[UUID(item["idea_key"])]
        assert activity.start is not None and activity.start.local.isoformat() == item["start"]
    again = world.acceptance.accept(draft_id, None, world.owner)
    assert {o.outcome for o in again.outcomes} == {"already_accepted"}
    assert world.trips.current_version(world.trip_id) == accepted.trip_version
    history = world.trips.history(world.trip_id, world.owner.actor_id)
    caused = [e for e in history if getattr(e, "causation_id", None) == accepted.acceptance_id]
    assert len(caused) == len(items)
    assert set(world.draft(draft_id).accepted) == {i["item_id"] for i in items}


def test_acceptance_is_item_by_item_and_rechecked_against_todays_trip() -> None:
    world = World(CountingPlanner())
    draft_id, items = ready(world)
    first = UUID(items[0]["item_id"])
    accepted = world.acceptance.accept(draft_id, [first], world.owner)
    assert [o.item_id for o in accepted.outcomes] == [first]
    world.trips.remove_destination(RemoveDestination(world.lisbon), world.owner)
    rest = world.acceptance.accept(draft_id, [UUID(i["item_id"]) for i in items[1:]], world.owner)
    assert {o.outcome for o in rest.outcomes} == {"refused"}
    assert all(o.error is not None for o in rest.outcomes)
    with pytest.raises(UnknownDraftItemError):
        world.acceptance.accept(draft_id, [uuid4()], world.owner)


def test_viewers_cannot_accept_and_unfinished_drafts_cannot_be_accepted() -> None:
    world = World(CountingPlanner())
    draft_id, _ = ready(world)
    with pytest.raises(ForbiddenError):
        world.acceptance.accept(draft_id, None, world.member(Role.VIEWER))
    queued = world.ask()
    with pytest.raises(DraftNotReadyError):
        world.acceptance.accept(queued, None, world.owner)


def test_recommended_items_become_new_activities_under_the_items_id() -> None:
    class WithCandidate(CountingPlanner):
        async def plan(self, request: PlanningRequest, feedback: Sequence[Problem] = ()) -> Planned:
            planned = await super().plan(request, feedback)
            day = planned.draft.days[0]
            extra = day.items[0].__class__(
                title="Fado night",
                description="",
                activity_type=ActivityType.OTHER,
                start=datetime.combine(day.day, datetime.min.time()).replace(hour=22),
                end=datetime.combine(day.day, datetime.min.time()).replace(hour=23),
                time_zone="Europe/Lisbon",
                reason="recommended",
                destination_id=request.places[0].destination_id,
            )
            days = ((day.__class__(day.day, (*day.items, extra))), *planned.draft.days[1:])
            return Planned(Draft(days, leftovers=planned.draft.leftovers), planned.usage)

    world = World(WithCandidate())
    draft_id, items = ready(world)
    assert world.draft(draft_id).document is not None
    fado = next(i for i in items if i["title"] == "Fado night")
    world.acceptance.accept(draft_id, [UUID(fado["item_id"])], world.owner)
    activity = world.trips.get_trip(world.trip_id).destinations[world.lisbon].activities
    assert UUID(fado["item_id"]) in activity


def test_a_requester_who_may_no_longer_edit_gets_a_failed_draft_and_no_charge() -> None:
    world = World(CountingPlanner())
    editor = world.member(Role.EDITOR)
    draft_id = world.ask(editor)
    world.trips.remove_member(RemoveMember(world.trip_id, editor.actor_id), world.owner)
    assert world.run(draft_id) == DraftStatus.FAILED
    assert world.planner.calls == 0
    assert world.quotas.used(editor.actor_id, datetime.now(UTC).date()) == 0
