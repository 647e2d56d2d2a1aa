"""Itinerary draft latency, one layer at a time, each beside the layer under it measured in
the same run: the offline scheduler (pure) and validation; a bare `openai` SDK call to the
fake OpenAI server (tests/fake_openai.py), then `OpenAIPlanner.plan` and `checked_draft`
over it; then the whole draft job (`DraftJobs`: request, then run to Ready) on PostgreSQL,
with either planner, beside a raw INSERT + commit.

    .venv/bin/python -m tests.benchmarks.planner [--runs 1000] [--jobs 200] [--write-docs]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import json
import math
import os
import platform
import statistics
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID, uuid4

import openai
import psycopg
from eventsourcing.domain import Aggregate
from openai.lib._parsing._completions import type_to_response_format_param
from psycopg_pool import ConnectionPool

from infra.database import event_store_env, prepare_database
from infra.planner.jobs_wiring import draft_jobs
from infra.planner.llm_schema import DraftAnswer
from infra.planner.openai_planner import OpenAIPlanner, openai_planner
from infra.planner.prompt import conversation
from infra.settings import Settings
from tests.benchmarks.harness import markdown_table, percentile, print_table, write_section
from tests.fake_openai import FakeOpenAI, answer
from tests.services import as_url, fresh_database, postgres_server
from write_side.context import CommandContext, acting_as
from write_side.event_store import EventStore
from write_side.identity.user import User
from write_side.planner.checked import checked_draft
from write_side.planner.draft import DraftStatus
from write_side.planner.drafting import (
    Draft,
    Limits,
    Pace,
    Planned,
    PlanningRequest,
    Preferences,
    Problem,
)
from write_side.planner.jobs import DraftJobs
from write_side.planner.ports import ItineraryPlanner
from write_side.planner.scheduler import OfflineScheduler, schedule
from write_side.planner.trip_request import planning_request
from write_side.planner.validation import validate
from write_side.trips.access import Role
from write_side.trips.commands import AddActivity, AddDestination, AddMember, PlanTrip
from write_side.trips.itinerary import ActivityType
from write_side.trips.planner import TripPlanner
from write_side.trips.trip import Trip

A = TypeVar("A", bound=Aggregate)

MODEL = "fake-model"
WARMUP = 10  # rounds run before measuring, in every group
JOBS_PER_USER = 20  # the default daily quota: no requester's quota grows beyond production's
CONCURRENCY = 4  # the planner role's default (ITINERA_PLANNER_CONCURRENCY)
CONCURRENT_JOBS = 20  # jobs of each planner per concurrent round
CONCURRENT_ROUNDS = 3  # alternating between the planners; the median round is reported
RAW_PAYLOAD = "x" * 300
LOCAL = "%Y-%m-%dT%H:%M"

# A 5-day trip, Lisbon then Porto (the travel day shared), 12 ideas (activities without a time).
START, END = date(2030, 6, 1), date(2030, 6, 5)
PLACES = (
    ("Lisbon", 38.7223, -9.1393, "Europe/Lisbon", date(2030, 6, 1), date(2030, 6, 3)),
    ("Porto", 41.1579, -8.6291, "Europe/Lisbon", date(2030, 6, 3), date(2030, 6, 5)),
)
IDEAS = (
    (0, "Jerónimos Monastery", ActivityType.SIGHTSEEING, "12"),
    (0, "Belém Tower", ActivityType.SIGHTSEEING, "8"),
    (0, "Time Out Market", ActivityType.RESTAURANT, "25"),
    (0, "Tram 28", ActivityType.TRANSPORT, "3"),
    (0, "Gulbenkian Museum", ActivityType.SIGHTSEEING, "14"),
    (0, "Alfama walk", ActivityType.OTHER, "0"),
    (0, "Cervejaria Ramiro", ActivityType.RESTAURANT, "40"),
    (1, "Livraria Lello", ActivityType.SIGHTSEEING, "8"),
    (1, "Port cellars in Gaia", ActivityType.SIGHTSEEING, "20"),
    (1, "Ribeira river cruise", ActivityType.OTHER, "18"),
    (1, "Majestic Café", ActivityType.RESTAURANT, "15"),
    (1, "Serralves", ActivityType.SIGHTSEEING, "20"),
)


# --- measuring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[], Awaitable[object]]


async def alternating(steps: Sequence[Step], rounds: int) -> dict[str, list[float]]:
    """Each step once a round, the order rotated every round, after WARMUP rounds; seconds."""
    times: dict[str, list[float]] = {step.name: [] for step in steps}
    for n in range(WARMUP + rounds):
        for k in range(len(steps)):
            step = steps[(n + k) % len(steps)]
            started = time.perf_counter()
            await step.run()
            elapsed = time.perf_counter() - started
            if n >= WARMUP:
                times[step.name].append(elapsed)
    return times


@dataclass
class Spent:
    """Calls and seconds, added up from whichever thread makes the calls."""

    calls: int = 0
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, seconds: float) -> None:
        with self._lock:
            self.calls += 1
            self.seconds += seconds

    def taken(self) -> tuple[int, float]:
        """What was added since the last time, and start again."""
        with self._lock:
            was = self.calls, self.seconds
            self.calls, self.seconds = 0, 0.0
        return was


class TimedEventStore(EventStore):
    """The project's event store (same application name, so the same tables), noting the
    time its callers spend in `find` and `save`."""

    name = EventStore.name

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spent = Spent()

    def find(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        started = time.perf_counter()
        try:
            return super().find(aggregate_id, kind)
        finally:
            self.spent.add(time.perf_counter() - started)

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return super().save(*objs, **kwargs)
        finally:
            self.spent.add(time.perf_counter() - started)


class TimedPlanner:
    """An `ItineraryPlanner` that notes the time the job spends in the planner it wraps."""

    def __init__(self, planner: ItineraryPlanner) -> None:
        self._planner = planner
        self.spent = Spent()

    @property
    def model(self) -> str:
        return self._planner.model

    async def plan(self, request: PlanningRequest, feedback: Sequence[Problem] = ()) -> Planned:
        started = time.perf_counter()
        try:
            return await self._planner.plan(request, feedback)
        finally:
            self.spent.add(time.perf_counter() - started)

    async def aclose(self) -> None:
        await self._planner.aclose()


# --- the trip and the answer ---------------------------------------------------------------


@dataclass(frozen=True)
class World:
    trip_id: UUID
    editors: tuple[UUID, ...]  # the owner first


def new_user(trips: TripPlanner) -> UUID:
    user_id = uuid4()
    with acting_as(CommandContext(user_id, uuid4())):
        user = User(
            user_id=user_id,
            email=f"{user_id}@example.org",
            username=str(user_id),
            password_hash="-",
            first_name="",
            last_name="",
        )
    trips.events.save(user)
    return user_id


def build_trip(trips: TripPlanner, editors: int) -> World:
    """The trip through TripPlanner commands, and `editors` members who may ask for drafts."""
    owner = new_user(trips)
    me = CommandContext(owner, uuid4())
    trip_id = trips.plan_trip(PlanTrip("Portugal", "A week in June", START, END, "EUR"), me).id
    places = [
        trips.add_destination(
            AddDestination(trip_id, name, "", {"lat": lat, "lng": lng}, arrive, leave, None, zone),
            me,
        ).id
        for name, lat, lng, zone, arrive, leave in PLACES
    ]
    for place, title, kind, cost in IDEAS:
        trips.add_activity(AddActivity(places[place], title, "", kind, cost=Decimal(cost)), me)
    members = [new_user(trips) for _ in range(editors - 1)]
    for member in members:
        trips.add_member(AddMember(trip_id, member, Role.EDITOR), me)
    return World(trip_id, (owner, *members))


def draft_answer(draft: Draft) -> dict[str, Any]:
    """The draft as a model answers it (DraftAnswer's JSON)."""
    return {
        "summary": draft.summary,
        "days": [
            {
                "day": day.day.isoformat(),
                "items": [
                    {
                        "title": item.title,
                        "description": item.description,
                        "activity_type": item.activity_type.value,
                        "start": item.start.strftime(LOCAL),
                        "end": item.end.strftime(LOCAL),
                        "destination_id": str(item.destination_id),
                        "new_destination": None,
                        "idea_key": item.idea_key,
                        "cost": None if item.cost is None else float(item.cost),
                        "currency": item.currency,
                        "reason": item.reason,
                    }
                    for item in day.items
                ],
            }
            for day in draft.days
        ],
        "destinations": [],
        "leftovers": [
            {"key": left.key, "title": left.title, "reason": left.reason}
            for left in draft.leftovers
        ],
    }


# --- the groups ----------------------------------------------------------------------------


@dataclass
class Results:
    times: dict[str, list[float]] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)


async def pure_group(request: PlanningRequest, rounds: int, results: Results) -> None:
    drafted = schedule(request)
    problems = validate(drafted, request)
    if problems:
        raise RuntimeError(f"the scheduler's draft breaks rules: {problems}")
    scheduler = OfflineScheduler()

    async def scheduling() -> object:
        return schedule(request)

    async def validating() -> object:
        return validate(drafted, request)

    async def checked() -> object:
        return await checked_draft(scheduler, request)

    steps = [Step("schedule", scheduling), Step("validate", validating), Step("checked", checked)]
    results.times.update(await alternating(steps, rounds))
    results.notes["items"] = len(drafted.items())
    results.notes["leftovers"] = len(drafted.leftovers)


async def llm_group(
    settings: Settings, fake: FakeOpenAI, request: PlanningRequest, rounds: int, results: Results
) -> None:
    planner = openai_planner(settings)
    assert isinstance(planner, OpenAIPlanner)
    bare = openai.AsyncOpenAI(
        base_url=settings.llm_base_url,
        api_key="x",
        timeout=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
    )
    messages = conversation(request, (), Limits())  # built once: the baseline sends, no more
    limit = {"max_tokens": settings.llm_max_output_tokens}  # what the planner sends a non-OpenAI
    fake.script(*[results.notes["answer"]] * (3 * (WARMUP + rounds) + 2))

    async def sdk() -> object:
        completion = await bare.chat.completions.parse(
            model=MODEL, messages=messages, response_format=DraftAnswer, extra_body=limit
        )
        assert completion.choices[0].message.parsed is not None
        return completion

    async def plan() -> object:
        return await planner.plan(request)

    async def schema() -> object:
        return type_to_response_format_param(DraftAnswer)

    async def checked() -> object:
        made = await checked_draft(planner, request)
        assert made.reasks == 0 and not made.repaired
        return made

    try:
        await sdk()
        await plan()
        asked = fake.requests
        if asked[-1].body != asked[-2].body:
            raise RuntimeError("the baseline does not send what the planner sends")
        results.notes["request_bytes"] = len(json.dumps(asked[-1].body))
        steps = [
            Step("sdk", sdk),
            Step("schema", schema),
            Step("plan", plan),
            Step("checked_llm", checked),
        ]
        results.times.update(await alternating(steps, rounds))
    finally:
        await bare.close()
        await planner.aclose()


async def job_group(
    settings: Settings,
    events: TimedEventStore,
    pool: ConnectionPool,
    fake: FakeOpenAI,
    world: World,
    raw: psycopg.Connection[Any],
    rounds: int,
    results: Results,
) -> None:
    adapter = openai_planner(settings)
    assert adapter is not None
    offline, llm = TimedPlanner(OfflineScheduler()), TimedPlanner(adapter)
    jobs = {
        "job_offline": (draft_jobs(settings, events, pool, None, planner=offline), offline),
        "job_llm": (draft_jobs(settings, events, pool, None, planner=llm), llm),
    }
    asks = WARMUP + rounds + CONCURRENT_JOBS * CONCURRENT_ROUNDS
    fake.script(*[results.notes["answer"]] * asks)
    requesters = itertools.cycle(world.editors)
    numbers = itertools.count()
    parts: dict[str, list[tuple[int, float, float, float]]] = {name: [] for name in jobs}

    async def one(name: str, job: DraftJobs) -> None:
        # Notes differ in every request: each misses the drafts' cache, as a new request does.
        preferences = Preferences(pace=Pace.MODERATE, notes=f"request {next(numbers)}")
        asked = job.request(world.trip_id, preferences, CommandContext(next(requesters), uuid4()))
        status = await job.run(asked.id)
        if status != DraftStatus.READY:
            raise RuntimeError(f"{name}: draft {asked.id} is {status}: {job.draft(asked.id)}")

    def timed(name: str) -> Step:
        job, planner = jobs[name]

        async def run() -> object:
            events.spent.taken()
            planner.spent.taken()
            cpu = time.process_time()
            await one(name, job)
            cpu = time.process_time() - cpu
            calls, in_store = events.spent.taken()
            _, in_planner = planner.spent.taken()
            parts[name].append((calls, in_store, in_planner, cpu))
            return None

        return Step(name, run)

    async def insert() -> object:
        raw.execute("INSERT INTO bench_raw_inserts (payload) VALUES (%s)", (RAW_PAYLOAD,))
        raw.commit()
        return None

    try:
        steps = [timed("job_offline"), timed("job_llm"), Step("raw_insert", insert)]
        results.times.update(await alternating(steps, rounds))
        for name, noted in parts.items():
            kept = noted[WARMUP:]  # the warm-up rounds' were noted too
            results.notes[f"{name}_calls"] = statistics.median(c for c, _, _, _ in kept)
            results.notes[f"{name}_store"] = [s for _, s, _, _ in kept]
            results.notes[f"{name}_planner"] = [p for _, _, p, _ in kept]
            results.notes[f"{name}_cpu"] = [c for _, _, _, c in kept]
        rates: dict[str, list[tuple[float, float]]] = {name: [] for name in jobs}
        for _ in range(CONCURRENT_ROUNDS):
            for name, (job, _) in jobs.items():
                rates[name].append(await at_once(functools.partial(one, name, job)))
        for name, measured in rates.items():
            rate, cores = sorted(measured)[len(measured) // 2]
            results.notes[f"{name}_concurrent"] = rate
            results.notes[f"{name}_cores"] = cores
    finally:
        for job, _ in jobs.values():
            await job.close()


async def at_once(job: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """CONCURRENT_JOBS jobs run CONCURRENCY at a time: jobs per second, and the cores this
    process used meanwhile (CPU seconds over wall seconds, all its threads)."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def gated() -> None:
        async with gate:
            await job()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(gated() for _ in range(CONCURRENT_JOBS)))
    wall = time.perf_counter() - started
    return CONCURRENT_JOBS / wall, (time.process_time() - cpu) / wall


# --- the report ----------------------------------------------------------------------------


def fmt(seconds: float) -> str:
    value = seconds * 1000
    if value >= 100:
        return f"{value:,.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def per_second(values: Sequence[float]) -> str:
    return f"{len(values) / sum(values):,.0f}/s"


def over(values: Sequence[float], base: Sequence[float], label: str) -> str:
    extra = percentile(values, 50) - percentile(base, 50)
    return f"{'+' if extra >= 0 else '-'}{fmt(abs(extra))} over {label}"


Row = tuple[str, str, str | None, str]  # key, what, the baseline's key, its label
ROWS: tuple[Row, ...] = (
    ("schedule", "(1a) `schedule(request)`: the offline scheduler, pure", None, ""),
    ("validate", "(1b) `validate(draft, request)` on its draft", None, ""),
    (
        "checked",
        "(1c) `checked_draft(OfflineScheduler())`: schedule + validate",
        "schedule",
        "(1a)",
    ),
    (
        "sdk",
        "(2) baseline: bare SDK `chat.completions.parse` → fake server",
        None,
        "",
    ),
    (
        "schema",
        "within (2): the SDK making `DraftAnswer`'s strict JSON schema, as on every call",
        None,
        "",
    ),
    ("plan", "(3) `OpenAIPlanner.plan(request)` → fake server", "sdk", "(2)"),
    ("checked_llm", "(4) `checked_draft(OpenAIPlanner)`: plan + validate", "plan", "(3)"),
    ("raw_insert", "baseline: raw `INSERT` + `COMMIT` (psycopg)", None, ""),
    ("job_offline", "(5a) draft job, offline scheduler: request + run → ready", "checked", "(1c)"),
    ("job_llm", "(5b) draft job, fake server: request + run → ready", "checked_llm", "(4)"),
)
HEADER = ["what", "runs", "p50", "p95", "one at a time", "p50 over its baseline"]
PARTS_HEADER = [
    "draft job",
    "event store calls",
    "in the event store (p50)",
    "in the planner (p50)",
    "the rest (p50)",
    "CPU of this process (p50)",
    f"{CONCURRENCY} at once: jobs/s (this process's cores)",
]


def table(results: Results, which: Sequence[Row]) -> list[list[str]]:
    rows = []
    for key, what, base, label in which:
        values = results.times[key]
        rows.append(
            [
                what,
                f"{len(values):,}",
                fmt(percentile(values, 50)),
                fmt(percentile(values, 95)),
                per_second(values),
                "-" if base is None else over(values, results.times[base], label),
            ]
        )
    return rows


def parts_table(results: Results) -> list[list[str]]:
    rows = []
    for key, label in (("job_offline", "offline scheduler"), ("job_llm", "fake server")):
        total = results.times[key]
        store = results.notes[f"{key}_store"]
        planner = results.notes[f"{key}_planner"]
        rest = [t - s - p for t, s, p in zip(total, store, planner, strict=True)]
        rows.append(
            [
                label,
                f"{results.notes[f'{key}_calls']:g}",
                fmt(percentile(store, 50)),
                fmt(percentile(planner, 50)),
                fmt(percentile(rest, 50)),
                fmt(percentile(results.notes[f"{key}_cpu"], 50)),
                f"{results.notes[f'{key}_concurrent']:,.0f}/s "
                f"({results.notes[f'{key}_cores']:.2f})",
            ]
        )
    return rows


def where(admin: str, loads: Sequence[tuple[float, float, float]]) -> str:
    with psycopg.connect(admin) as conn:
        row = conn.execute("SELECT version()").fetchone()
    postgres = str(row[0]).split(" on ")[0] if row else "PostgreSQL"
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    before, after = loads
    return (
        f"Measured {now} on {os.cpu_count()} cores ({platform.platform()}), Python "
        f"{platform.python_version()}, `openai` {openai.__version__}, {postgres} on 127.0.0.1. "
        "Everything ran on this one machine, and **other processes shared it** (other work "
        f"ran at the same time: load average {before[0]:.2f} at the start, {after[0]:.2f} at "
        "the end); every figure stands beside its baseline, measured alternately in the same "
        "run."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000, help="rounds of (1) and of (2)-(4)")
    parser.add_argument("--jobs", type=int, default=200, help="rounds of (5), each planner")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    began = time.perf_counter()
    loads = [os.getloadavg()]
    results = Results()
    with (
        postgres_server() as admin,
        fresh_database(admin, "itinera_bench_planner") as db,
        FakeOpenAI.start() as fake,
    ):
        url = as_url(db)
        settings = Settings(
            database_url=url, llm_base_url=fake.base_url, llm_api_key="x", llm_model=MODEL
        )
        prepare_database(settings)
        env = event_store_env(
            url, settings.db_pool_size, lock_timeout=settings.event_store_lock_timeout
        )
        events = TimedEventStore(env=env)
        pool = ConnectionPool(url, min_size=1, max_size=4, kwargs={"autocommit": True})
        raw = psycopg.connect(url)
        try:
            raw.execute(
                "CREATE TABLE bench_raw_inserts (id bigserial PRIMARY KEY, payload text NOT NULL)"
            )
            raw.commit()
            jobs = WARMUP + args.jobs + CONCURRENT_JOBS * CONCURRENT_ROUNDS
            editors = math.ceil(2 * jobs / JOBS_PER_USER)
            world = build_trip(TripPlanner(events), editors)
            results.notes["editors"] = editors
            trip = events.find(world.trip_id, Trip)
            assert trip is not None
            request = planning_request(trip, Preferences())
            drafted = schedule(request)
            results.notes["answer"] = answer(
                draft_answer(drafted), prompt_tokens=3000, completion_tokens=2000
            )
            results.notes["answer_bytes"] = len(json.dumps(draft_answer(drafted)))
            asyncio.run(pure_group(request, args.runs, results))
            asyncio.run(llm_group(settings, fake, request, args.runs, results))
            asyncio.run(job_group(settings, events, pool, fake, world, raw, args.jobs, results))
        finally:
            raw.close()
            pool.close()
            events.close()
        loads.append(os.getloadavg())
        measured = where(admin, [(a, b, c) for a, b, c in loads])
    rows, parts = table(results, ROWS), parts_table(results)
    print_table("Draft latency", HEADER, rows)
    print_table("Where a draft job's time goes", PARTS_HEADER, parts)
    seconds = time.perf_counter() - began
    print(f"\n{measured}\n({seconds:.0f} s)")
    if args.write_docs:
        text = _doc(
            measured,
            args,
            results,
            markdown_table(HEADER, rows),
            markdown_table(PARTS_HEADER, parts),
            seconds,
        )
        write_section("planner", text)


def _doc(
    where: str,
    args: argparse.Namespace,
    results: Results,
    main: str,
    parts: str,
    seconds: float,
) -> str:
    notes = results.notes

    def p50(key: str) -> float:
        return percentile(results.times[key], 50)

    def note_p50(key: str) -> float:
        return percentile(notes[key], 50)

    rest = {
        key: percentile(
            [
                t - s - p
                for t, s, p in zip(
                    results.times[key], notes[f"{key}_store"], notes[f"{key}_planner"], strict=True
                )
            ],
            50,
        )
        for key in ("job_offline", "job_llm")
    }
    return f"""## Itinerary draft latency

{where}

Reproduce (about {max(1, round(seconds / 60))} minute{"s" if seconds >= 90 else ""}):
`.venv/bin/python -m tests.benchmarks.planner --write-docs`

The trip: 5 days, 2 destinations (Lisbon, then Porto from the shared travel day), 12 ideas
(activities without a time, of 4 kinds, with costs), built through `TripPlanner` commands
on a fresh database; the request is `planning_request` of that trip (moderate pace, no
recommendations). The offline scheduler's draft places {notes["items"]} items and leaves
{notes["leftovers"]}; the fake server answers every ask with that same draft, as a model
would (`DraftAnswer` JSON, {notes["answer_bytes"]:,} bytes), so validation finds nothing to
re-ask or repair. The fake (`tests/fake_openai.py`, its sockets with TCP_NODELAY as
production servers have them) is real HTTP on loopback, a thread of the benchmark's
process, and answers at once: the LLM rows are the client side's own cost (SDK, HTTP,
JSON), not a model's. Every ask sends the same body ({notes["request_bytes"]:,} bytes:
the planner's system and trip messages, the strict schema, `max_tokens`); the bare SDK call
sends exactly the planner's body (checked), its messages built once beforehand.

A job is `DraftJobs.request` then `await DraftJobs.run` until the draft is ready, built by
`infra.planner.jobs_wiring.draft_jobs` as the planner role builds it: the project's event
store settings, the drafts' cache in PostgreSQL, the daily quota; no recommendations, no
Kafka (the role's consumer and the relay are not in these figures). Every request's notes
differ, so each misses the cache and stores its draft there, as a new request does.
Requests rotate over the trip's owner and {notes["editors"] - 1} editors, at most
{JOBS_PER_USER} drafts each a day.

Each group alternates its rows round by round, the order rotated, after {WARMUP} warm-up
rounds: {args.runs:,} rounds of (1) to (4), {args.jobs} of (5) and the raw INSERT.
*One at a time* is the runs over their summed time.

{main}

Where a job's time goes (per job, medians): the event store is the project's `EventStore`
with the same settings, timing its `find` and `save`; the planner is timed around `plan`;
the rest is the job's own. The last column runs {4 * CONCURRENCY} jobs, {CONCURRENCY} at
once, as the planner role does (`ITINERA_PLANNER_CONCURRENCY`).

{parts}

**What it means.** Making the draft is the small part of a job. The offline scheduler
arranges the ideas in {fmt(p50("schedule"))} and validation checks its draft in
{fmt(p50("validate"))}: {fmt(p50("checked"))} together, pure CPU. On the LLM path the floor
is the SDK's own round trip to a server that answers at once, {fmt(p50("sdk"))}: the request
built and serialised (the SDK walks the messages and rebuilds the strict JSON schema from
the pydantic model on every call, about {fmt(p50("schema"))} of it), HTTP over loopback, the
completion parsed into `DraftAnswer`, and the fake's own JSON work in this process. The
adapter adds {fmt(p50("plan") - p50("sdk"))} (its prompt, the trip as JSON; the conversion
into a domain draft) and `checked_draft` {fmt(p50("checked_llm") - p50("plan"))} more
(validation). A real model takes seconds to write a {notes["answer_bytes"]:,}-byte answer:
beside it, all of this is noise.

The job adds {fmt(p50("job_offline") - p50("checked"))} to the offline draft and
{fmt(p50("job_llm") - p50("checked_llm"))} to the LLM one: much the same work either way.
{notes["job_offline_calls"]:g} event store calls, one after the other (the trip, the quota and
the draft loaded, some twice; the draft, the quota's charge, Started and Completed saved),
take {fmt(note_p50("job_offline_store"))} of the offline job, where a bare INSERT + commit
takes {fmt(p50("raw_insert"))}; the rest, {fmt(rest["job_offline"])}, is the drafts' cache
(one SELECT, one INSERT), the request's cache key, the draft's document with item ids and
the hops to worker threads. Most of it is not waiting: this process's CPU is
{fmt(note_p50("job_offline_cpu"))} of the offline job's {fmt(p50("job_offline"))} (median),
so at most {fmt(p50("job_offline") - note_p50("job_offline_cpu"))} goes to PostgreSQL's round
trips; the rest is Python (for the event store, encoding and decoding events and copying the
aggregates it keeps). That is why {CONCURRENCY} jobs at once barely help:
{notes["job_offline_concurrent"]:,.0f} drafts/s offline and {notes["job_llm_concurrent"]:,.0f}/s
with the fake, against {per_second(results.times["job_offline"])} and
{per_second(results.times["job_llm"])} one at a time, with the process using
{notes["job_offline_cores"]:.2f} and {notes["job_llm_cores"]:.2f} of a core: one Python
process is bound by its interpreter lock, so more drafts per second take more planner
processes (with a real model the jobs wait on it instead, and concurrency is what helps).
"""


if __name__ == "__main__":
    main()
