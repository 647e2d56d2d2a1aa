"""Benchmark: loading a trip of thousands of events from its latest snapshot, against the same
stream replayed in full by the same event store with snapshotting off.

    .venv/bin/python -m tests.benchmarks.snapshots               # print the figures
    .venv/bin/python -m tests.benchmarks.snapshots --write-docs  # ...and write its section

Exits with status 1 if a trip loaded from its snapshot differed from its full replay.
"""

from __future__ import annotations

import datetime as dt
import sys
import textwrap
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID, uuid4

from eventsourcing.domain import MutableOrImmutableAggregate

from infra.database import event_store_env
from tests.benchmarks.harness import (
    docs_flag,
    fine_ms,
    machine_line,
    markdown_table,
    percentile,
    print_table,
    write_section,
)
from tests.services import as_url, fresh_database, postgres_server
from write_side.context import CommandContext
from write_side.event_store import EventStore
from write_side.trips.commands import (
    AddActivity,
    AddDestination,
    PlanTrip,
    UpdateTripDetails,
    When,
)
from write_side.trips.itinerary import ActivityType
from write_side.trips.planner import TripPlanner
from write_side.trips.snapshots import TRIP_SNAPSHOT_INTERVAL

SECTION = "snapshots"
REPRODUCE = ".venv/bin/python -m tests.benchmarks.snapshots --write-docs"

# The long trip: a plan, some destinations and activities, then title changes up to this many
# events. One short of a multiple of the interval, so a load reads the latest snapshot and the
# most events the interval allows after it (the worst case).
LONG_TRIP_EVENTS = (5_000 // TRIP_SNAPSHOT_INTERVAL + 1) * TRIP_SNAPSHOT_INTERVAL - 1
LONG_TRIP_DESTINATIONS = 8
ACTIVITIES_PER_DESTINATION = 3
SHORT_TRIP_EVENTS = 5  # a trip with no snapshot yet: what looking for one costs
LOADS = 20  # per kind, alternating
LOAD_WARMUP = 2  # per kind, not counted


class NoSnapshots(EventStore):
    """The project's event store over the same tables, with snapshotting off: every load
    replays the whole stream. The baseline of the snapshot measurement."""

    name = EventStore.name  # eventsourcing names the tables after the application
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[UUID]], int]] = {}


@dataclass(frozen=True)
class LoadTimes:
    """`TripPlanner.get_trip` of one trip, LOADS times each way, alternating."""

    events: int  # in the trip's stream
    with_snapshots: list[float]  # seconds per load, the project's event store
    full_replay: list[float]  # seconds per load, snapshotting off
    same_state: bool  # every pair of loads gave equal trips


@dataclass(frozen=True)
class SnapshotLoads:
    long: LoadTimes
    short: LoadTimes  # a trip too short for a snapshot: what looking for one costs
    snapshot_versions: list[int]  # of the long trip's stored snapshots
    build_seconds: float
    commands: int  # that built the long trip

    @property
    def same_state(self) -> bool:
        return self.long.same_state and self.short.same_state

    @property
    def latest_snapshot(self) -> int:
        return max(self.snapshot_versions, default=0)

    @property
    def after_snapshot(self) -> int:
        return self.long.events - self.latest_snapshot

    @property
    def expected_snapshots(self) -> list[int]:
        return list(range(TRIP_SNAPSHOT_INTERVAL, self.long.events + 1, TRIP_SNAPSHOT_INTERVAL))


def build_long_trip(planner: TripPlanner) -> tuple[UUID, int]:
    """A trip with destinations and activities, then title changes, through the planner's own
    commands (so snapshots are taken as in production) up to LONG_TRIP_EVENTS events."""
    me = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    start = dt.date(2027, 1, 1)
    plan = PlanTrip("Long trip", "", start, start + dt.timedelta(days=7 * LONG_TRIP_DESTINATIONS))
    trip_id = planner.plan_trip(plan, me).trip_id
    commands = 1
    for d in range(LONG_TRIP_DESTINATIONS):
        arrival = start + dt.timedelta(days=7 * d)
        destination = AddDestination(
            trip_id,
            f"Stop {d}",
            "",
            {"lat": 38.7 + d, "lng": -9.1 + d},
            arrival,
            arrival + dt.timedelta(days=6),
        )
        destination_id = planner.add_destination(destination, me).id
        commands += 1
        for a in range(ACTIVITIES_PER_DESTINATION):
            day = dt.datetime.combine(arrival + dt.timedelta(days=a), dt.time(9))
            activity = AddActivity(
                destination_id,
                f"Activity {a}",
                "",
                ActivityType.SIGHTSEEING,
                start=When(day, "Europe/Lisbon"),
                end=When(day + dt.timedelta(hours=2), "Europe/Lisbon"),
                cost=Decimal("12.50"),
                currency="EUR",
            )
            planner.add_activity(activity, me)
            commands += 1
    version = planner.get_trip(trip_id).version
    while version < LONG_TRIP_EVENTS:
        update = UpdateTripDetails(trip_id, title=f"Long trip v{version}")
        version = planner.update_trip_details(update, me).version
        commands += 1
    return trip_id, commands


def build_short_trip(planner: TripPlanner) -> UUID:
    me = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    plan = PlanTrip("Short trip", "", dt.date(2027, 1, 1), dt.date(2027, 1, 9))
    trip_id = planner.plan_trip(plan, me).trip_id
    for n in range(SHORT_TRIP_EVENTS - 1):
        planner.update_trip_details(UpdateTripDetails(trip_id, title=f"Short trip v{n}"), me)
    return trip_id


def timed_load(planner: TripPlanner, trip_id: UUID) -> tuple[float, Any]:
    """One load from the store: the copy the event store keeps of a trip it last loaded or
    saved (which would answer without reading the stream) is dropped first."""
    planner.events.drop_kept_copies()
    started = time.perf_counter()
    trip = planner.get_trip(trip_id)
    return time.perf_counter() - started, trip


def compare_loads(project: TripPlanner, replaying: TripPlanner, trip_id: UUID) -> LoadTimes:
    for _ in range(LOAD_WARMUP):
        timed_load(project, trip_id)
        timed_load(replaying, trip_id)
    with_snapshots: list[float] = []
    full_replay: list[float] = []
    same_state = True
    for _ in range(LOADS):  # alternating, so drift hits both alike
        seconds, from_snapshot = timed_load(project, trip_id)
        with_snapshots.append(seconds)
        seconds, replayed = timed_load(replaying, trip_id)
        full_replay.append(seconds)
        same_state = same_state and from_snapshot == replayed
    events = len(project.events.recorder.select_events(trip_id))
    return LoadTimes(events, with_snapshots, full_replay, same_state)


def measure_snapshot_loads(admin_url: str) -> SnapshotLoads:
    with fresh_database(admin_url, prefix="itinera_bench_snapshots") as conninfo:
        env = event_store_env(as_url(conninfo), 2, create_tables=True)
        project = TripPlanner(EventStore(env=env))
        replaying = TripPlanner(NoSnapshots(env=env))
        try:
            if project.events.snapshots is None or replaying.events.snapshots is not None:
                raise RuntimeError("snapshotting is not on for EventStore and off for the baseline")
            started = time.perf_counter()
            long_trip, commands = build_long_trip(project)
            build_seconds = time.perf_counter() - started
            versions = [s.originator_version for s in project.events.snapshots.get(long_trip)]
            short_trip = build_short_trip(project)
            long = compare_loads(project, replaying, long_trip)
            short = compare_loads(project, replaying, short_trip)
        finally:
            project.events.close()
            replaying.events.close()
    return SnapshotLoads(long, short, versions, build_seconds, commands)


SNAPSHOT_HEADER = ["trip", "`get_trip`", "reads", "p50", "p95", "max"]


def snapshot_rows(loads: SnapshotLoads) -> list[list[str]]:
    def figures(times: list[float]) -> list[str]:
        return [fine_ms(percentile(times, q)) for q in (50.0, 95.0, 100.0)]

    long, short = loads.long, loads.short
    return [
        [
            f"{long.events:,} events",
            "project setting: latest snapshot + newer events",
            f"snapshot v{loads.latest_snapshot:,} + {loads.after_snapshot} events",
            *figures(long.with_snapshots),
        ],
        [
            f"{long.events:,} events",
            "baseline: full replay, snapshotting off",
            f"{long.events:,} events",
            *figures(long.full_replay),
        ],
        [
            f"{short.events} events",
            "project setting: looks for a snapshot, finds none",
            f"no snapshot + {short.events} events",
            *figures(short.with_snapshots),
        ],
        [
            f"{short.events} events",
            "baseline: full replay, snapshotting off",
            f"{short.events} events",
            *figures(short.full_replay),
        ],
    ]


def snapshot_anomalies(loads: SnapshotLoads) -> list[str]:
    notes = []
    if loads.snapshot_versions != loads.expected_snapshots:
        expected = loads.expected_snapshots
        notes.append(
            f"snapshots: the trip has {len(loads.snapshot_versions)} snapshots (latest "
            f"v{loads.latest_snapshot}); one every {TRIP_SNAPSHOT_INTERVAL} events would be "
            f"{len(expected)} (latest v{max(expected, default=0)})"
        )
    for trip, wanted in ((loads.long, LONG_TRIP_EVENTS), (loads.short, SHORT_TRIP_EVENTS)):
        if trip.events != wanted:
            notes.append(f"snapshots: a trip has {trip.events} events, not {wanted}")
    return notes


def snapshot_text(loads: SnapshotLoads) -> str:
    long, short = loads.long, loads.short
    snapshot_p50, replay_p50 = percentile(long.with_snapshots, 50), percentile(long.full_replay, 50)
    snapshot_p95, replay_p95 = percentile(long.with_snapshots, 95), percentile(long.full_replay, 95)
    figures = (
        f"Loading the {long.events:,}-event trip from its latest snapshot (v"
        f"{loads.latest_snapshot:,}) and the {loads.after_snapshot} events after it takes "
        f"{fine_ms(snapshot_p50)} at the median ({fine_ms(snapshot_p95)} at p95); replaying "
        f"all {long.events:,} events with snapshotting off takes {fine_ms(replay_p50)} "
        f"({fine_ms(replay_p95)})"
    )
    if max(long.with_snapshots) < min(long.full_replay):
        verdict = (
            f": {replay_p50 / snapshot_p50:,.0f} times faster at the median, and the slowest "
            f"snapshot load was faster than the fastest replay"
        )
    elif snapshot_p50 < replay_p50:
        verdict = (
            f": {replay_p50 / snapshot_p50:,.1f} times faster at the median, but the slowest "
            f"snapshot loads were slower than the fastest replays, so the gain is not a clean one"
        )
    else:
        verdict = ": **snapshots did not make the load faster in this run**"
    short_p50 = percentile(short.with_snapshots, 50)
    short_replay_p50 = percentile(short.full_replay, 50)
    extra = short_p50 - short_replay_p50
    if extra > 0:
        lookup = (
            f"looking for a snapshot first (one more query) adds {fine_ms(extra)} "
            f"({extra / short_replay_p50:.0%}) to every load of a short trip"
        )
    else:
        lookup = "looking for a snapshot first cost nothing measurable in this run"
    short_text = (
        f"On a {short.events}-event trip, too short for a snapshot, a load with the project's "
        f"setting takes {fine_ms(short_p50)} at the median against {fine_ms(short_replay_p50)} "
        f"with snapshotting off: {lookup}."
    )
    if loads.same_state:
        state = f"Every pair of loads, {2 * LOADS} pairs, gave equal `Trip` aggregates."
    else:
        state = "**WARNING: a trip loaded from its snapshot was not equal to its full replay.**"
    return (
        f"{figures}{verdict}. By construction a load reads one snapshot and at most "
        f"{TRIP_SNAPSHOT_INTERVAL - 1} events however long the trip gets; this is that worst "
        f"case. {short_text} {state} Building the long trip took {loads.build_seconds:.1f} s for "
        f"{loads.commands:,} commands ({loads.commands / loads.build_seconds:,.0f}/s, one "
        f"thread), each loading the trip from its latest snapshot before saving."
    )


def section(machine: str, loads: SnapshotLoads) -> str:
    notes = snapshot_anomalies(loads)
    anomalies = "\n".join(f"- {n}" for n in notes) if notes else "- none"
    return f"""## Loading a trip with thousands of events: snapshots against a full replay

{machine}

```
{REPRODUCE}
```

The project's `EventStore` snapshots a `Trip` every {TRIP_SNAPSHOT_INTERVAL} events
(`write_side.trips.snapshots.TRIP_SNAPSHOT_INTERVAL`), so a load reads the latest snapshot and
the events after it. (A process also keeps a copy of each trip it last loaded or saved and
brings it up to date with the newer events; every load here drops those copies first, as a
load in another process or after a restart would find none.) On a fresh database with the
project's Postgres settings, one trip was built through `TripPlanner` commands: `PlanTrip`,
{LONG_TRIP_DESTINATIONS} destinations with {ACTIVITIES_PER_DESTINATION} activities each, then
`UpdateTripDetails` title changes up to
{loads.long.events:,} events ({loads.commands:,} commands in {loads.build_seconds:.1f} s), so the
snapshots were taken as in production ({len(loads.snapshot_versions)} of them).
{loads.long.events:,} is one short of a multiple of the interval: the worst case for a load
with snapshots. A second trip of {loads.short.events} events, too short for a snapshot, prices
the lookup itself. **Baseline**: the same `EventStore` with `snapshotting_intervals = {{}}`
(same tables), whose `get_trip` replays every event. After {LOAD_WARMUP} warm-up loads each
way, `TripPlanner.get_trip` ran {LOADS} times each way, alternating; each pair was checked to
give equal `Trip` aggregates.

{markdown_table(SNAPSHOT_HEADER, snapshot_rows(loads))}

Anomalies:

{anomalies}

{textwrap.fill(snapshot_text(loads), width=96, break_on_hyphens=False, break_long_words=False)}
"""


def main() -> None:
    write = docs_flag(__doc__.split("\n\n")[0], SECTION)
    with postgres_server() as admin_url:
        machine = machine_line(admin_url)
        loads = measure_snapshot_loads(admin_url)
    print(machine)
    print_table(f"Loading a trip ({LOADS} loads each way)", SNAPSHOT_HEADER, snapshot_rows(loads))
    print(snapshot_text(loads))
    if write:
        write_section(SECTION, section(machine, loads))
    if not loads.same_state:
        print("!!! A TRIP LOADED FROM ITS SNAPSHOT DIFFERS FROM ITS FULL REPLAY", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
