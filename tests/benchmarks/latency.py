"""Command → visible latency through the distributed pipeline: `itinera api`, `relay` and
`worker` as processes over PostgreSQL, Tansu and Redis; PATCHes sent open-loop at 200/s, then
at rising rates to find the highest this machine sustains; each beside the PATCH round trip
measured in the same run. The load generator is lean (tests/benchmarks/load.py): its own CPU
per command is reported.

    .venv/bin/python -m tests.benchmarks.latency [--seconds 20] [--write-docs]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path
from uuid import UUID, uuid4

import httpx

from tests.benchmarks.harness import (
    idle_after,
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
from tests.benchmarks.load import Driver, Run, Trip
from tests.services import (
    as_url,
    free_port,
    fresh_database,
    kafka_broker,
    postgres_server,
    redis_server,
)

PARTITIONS = 4
USERS = 20
TRIPS = 1_000  # one command in flight per trip at most
RATES = (50, 100, 150, 200, 250, 300, 400)
ISSUE_RATE = 200  # the rate the projections issue names: always measured
CAPACITY_TRIPS = 100
CAPACITY_SECONDS = 10
PASSWORD = "Benchmark pass 2030"
LIMITS = {
    "ITINERA_LOGIN_ATTEMPTS_PER_ADDRESS": "100000",
    "ITINERA_REGISTRATIONS_PER_ADDRESS": "100000",
    "ITINERA_WRITES_PER_USER": "10000000",
}


async def prepare(base: str) -> list[Trip]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        tokens = []
        for _ in range(USERS):
            name = f"bench_{uuid4().hex[:10]}"
            await client.post(
                "/api/v1/auth/register",
                json={"email": f"{name}@example.org", "username": name, "password": PASSWORD},
            )
            login = await client.post(
                "/api/v1/auth/login", json={"login": name, "password": PASSWORD}
            )
            tokens.append(login.json()["data"]["access_token"])
        gate = asyncio.Semaphore(16)

        async def create(n: int) -> Trip:
            async with gate:
                token = tokens[n % USERS]
                response = await client.post(
                    "/api/v1/trips",
                    json={
                        "title": f"Trip {n}",
                        "start_date": "2030-05-01",
                        "end_date": "2030-05-09",
                    },
                    headers={"Authorization": f"Bearer {token}"},
                )
                data = response.json()["data"]
                # Wait for it to be visible, so every command starts from a projected trip.
                await client.get(
                    f"/api/v1/trips/{data['id']}",
                    params={"min_version": data["version"]},
                    headers={"Authorization": f"Bearer {token}"},
                )
                return Trip(UUID(data["id"]), token, int(data["version"]))

        return list(await asyncio.gather(*(create(n) for n in range(TRIPS))))


def sustained(run: Run) -> bool:
    """Every command sent on time (send lag p99 under 50 ms), none failed, all visible."""
    return (
        run.skipped == 0
        and run.failed == 0
        and run.lost == 0
        and percentile(run.send_lags(), 99) < 0.05
        and run.achieved >= 0.97 * run.rate
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="itinera-bench-latency-"))
    port = free_port()
    with (
        postgres_server() as admin,
        fresh_database(admin, "itinera_bench_latency") as db,
        kafka_broker() as bootstrap,
        redis_server() as redis_url,
    ):
        env = {
            "ITINERA_DATABASE_URL": as_url(db),
            "ITINERA_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "ITINERA_TOPIC_PARTITIONS": str(PARTITIONS),
            "ITINERA_WORKER_APP_ID": f"bench-{uuid4().hex[:8]}",
            "ITINERA_DATA_DIR": str(log_dir / "data"),
            "ITINERA_KEYS_DIR": str(log_dir / "keys"),
            "ITINERA_REDIS_URL": redis_url,
            "ITINERA_REDIS_NAMESPACE": f"bench-{uuid4().hex[:8]}",
            **LIMITS,
        }
        with roles(env, log_dir) as running:
            running.run("topics", "create")
            running.run("keys", "rotate")
            running.start("relay", "relay")
            worker = running.start("worker", "worker")
            running.start("api", "api", "--port", str(port))
            base = f"http://127.0.0.1:{port}"
            wait_for_http(f"{base}/health", running)
            trips = asyncio.run(prepare(base))
            # The API's own PATCH capacity, on trips the rate ladder does not use.
            spare = Driver("127.0.0.1", port, as_url(db), trips[-CAPACITY_TRIPS:])
            capacity, capacity_p50 = asyncio.run(spare.capacity(CAPACITY_SECONDS))
            print(f"API capacity: {capacity:,.0f} PATCH/s, p50 {ms(capacity_p50)}")
            # The capacity run wrote faster than the worker projects: its backlog is drained
            # before the ladder, or the first rate measures it. Idle, for a Faust worker, is
            # its consumers' polling (about 12% of a core here).
            print(f"worker idle after {idle_after(worker.pid, busy=25):,.0f} s")
            driver = Driver("127.0.0.1", port, as_url(db), trips[:-CAPACITY_TRIPS])
            runs: list[Run] = []
            for target in RATES:
                run = asyncio.run(driver.run(target, args.seconds))
                running.check()
                runs.append(run)
                print(_row(run))
                if not sustained(run) and target >= ISSUE_RATE:
                    break
        header = [
            "rate (target / sent)",
            "command → visible",
            "baseline: PATCH round trip",
            "sustained",
            "generator CPU per command",
        ]
        rows = [_row(run) for run in runs]
        print_table("Command → visible", header, rows)
        if args.write_docs:
            write_section(
                "latency", _doc(machine(admin), header, rows, runs, capacity, capacity_p50)
            )


def _row(run: Run) -> list[str]:
    cpu = run.generator_cpu / max(len(run.commands), 1)
    return [
        f"{run.rate:,.0f} / {run.achieved:,.0f} per s",
        p50_p99(run.visible()),
        p50_p99(run.round_trips()),
        "yes"
        if sustained(run)
        else f"no ({run.skipped} skipped, {run.failed} failed, {run.lost} never visible, "
        f"send lag p99 {ms(percentile(run.send_lags(), 99))})",
        ms(cpu),
    ]


def _doc(
    where: str,
    header: list[str],
    rows: list[list[str]],
    runs: list[Run],
    capacity: float,
    capacity_p50: float,
) -> str:
    best = max((r for r in runs if sustained(r)), key=lambda r: r.rate, default=None)
    highest = (
        f"The highest rate sustained here is **{best.rate:,.0f} commands/s**, command → visible "
        f"{p50_p99(best.visible())}."
        if best
        else "No rate was sustained."
    )
    return f"""## Command → visible, distributed pipeline

{where}

Reproduce (about 4 minutes): `.venv/bin/python -m tests.benchmarks.latency --write-docs`

`itinera api` (one uvicorn worker), `itinera relay` and `itinera worker` (Faust, fetch wait
{os.environ.get("ITINERA_WORKER_FETCH_MAX_WAIT_MS", "50")} ms from the default setting,
through the registered transport) as processes over a fresh database, Tansu ({PARTITIONS}
partitions) and Redis (write quotas, as several API instances would share them; revocations
are checked in PostgreSQL).
{USERS} users own {TRIPS:,} trips, made through the API. Before the rate ladder, the worker is
left to go idle (the baseline below writes faster than it projects: its backlog is drained, or
the first rate would measure it). Each command is a `PATCH /api/v1/trips/{{id}}`
with a bearer token, sent open-loop at the target rate (a trip has at most one command in
flight), and is *visible* when `trip_views` shows its version: the generator LISTENs to the
NOTIFYs a projection batch sends at commit, then reads the versions of the trips in flight.
Latencies run from when a command was due. The generator speaks raw HTTP/1.1 over 32
kept-alive connections; its own CPU per command is in the last column.

**Baseline, the API alone:** {CAPACITY_TRIPS} other trips patched closed-loop by 16
clients for {CAPACITY_SECONDS} s (each sends its next PATCH when the last is answered, nothing
waits for a projection): **{capacity:,.0f} PATCH/s**, p50 {ms(capacity_p50)}, with the relay
and the worker running beside it. That is the ceiling of every rate below: a PATCH is a token
check (in this process's cache of verified tokens), one Redis round trip (the write quota),
loading the trip and appending, and the API shares the two cores with the relay, the worker,
PostgreSQL, Redis, Tansu and the load generator.

{markdown_table(header, rows)}

{highest} The rate ladder runs up to 200/s whatever happens, then stops at the first rate
not sustained (a command skipped because all trips were busy, a failure, one never visible,
or a send lag p99 over 50 ms). Beyond the highest sustained rate, commands queue in the API
and both columns grow with the queue: those rows measure the queue, not the pipeline.
"""


if __name__ == "__main__":
    main()
