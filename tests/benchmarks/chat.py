"""Chat fan-out across API instances: a message posted on one `itinera api` → received by a
subscriber on another, through Redis pub/sub, at 100 messages/s across 50 rooms with 200
sockets connected; beside a bare Redis pub/sub round trip measured in the same run. Also the
memory an idle socket costs, and the API processes' memory as messages flow.

The whole distributed stack runs (relay, worker: the history, announcements and notifier
projections follow every message), over PostgreSQL, Tansu and Redis, on this one machine.

    .venv/bin/python -m tests.benchmarks.chat [--seconds 20] [--write-docs]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect

from tests.benchmarks.harness import (
    cpu_seconds,
    machine,
    markdown_table,
    p50_p99,
    percentile,
    print_table,
    roles,
    wait_for_http,
    write_section,
)
from tests.services import (
    as_url,
    free_port,
    fresh_database,
    kafka_broker,
    postgres_server,
    redis_server,
)

ROOMS = 50
PER_ROOM = 4  # sockets per room: two on each instance (200 in all)
RATE = 100  # messages per second, across the rooms
IDLE_SOCKETS = 300
PASSWORD = "Benchmark pass 2030"
LIMITS = {
    "ITINERA_LOGIN_ATTEMPTS_PER_ADDRESS": "100000",
    "ITINERA_REGISTRATIONS_PER_ADDRESS": "100000",
    "ITINERA_WRITES_PER_USER": "10000000",
}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def users(base: str, count: int) -> list[tuple[str, str]]:
    """(id, token) of `count` new users."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        gate = asyncio.Semaphore(8)

        async def one() -> tuple[str, str]:
            async with gate:
                name = f"bench_{uuid4().hex[:10]}"
                made = await client.post(
                    "/api/v1/auth/register",
                    json={"email": f"{name}@example.org", "username": name, "password": PASSWORD},
                )
                login = await client.post(
                    "/api/v1/auth/login", json={"login": name, "password": PASSWORD}
                )
                return made.json()["data"]["id"], login.json()["data"]["access_token"]

        return list(await asyncio.gather(*(one() for _ in range(count))))


async def rooms(base: str, people: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """Each room (trip id) with the tokens of its members, the owner first."""
    made = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for n in range(ROOMS):
            members = people[n * PER_ROOM : (n + 1) * PER_ROOM]
            owner = {"Authorization": f"Bearer {members[0][1]}"}
            trip = await client.post(
                "/api/v1/trips",
                json={"title": f"Room {n}", "start_date": "2030-05-01", "end_date": "2030-05-09"},
                headers=owner,
            )
            trip_id = trip.json()["data"]["id"]
            for user_id, _ in members[1:]:
                await client.post(
                    f"/api/v1/trips/{trip_id}/members",
                    json={"user_id": user_id, "role": "editor"},
                    headers=owner,
                )
            made.append((trip_id, [token for _, token in members]))
    return made


async def subscribed(base: str, trip_id: str, token: str) -> ClientConnection:
    url = base.replace("http://", "ws://") + f"/ws/chat/{trip_id}/?token={token}"
    socket = await connect(url, max_queue=None)
    await socket.send(json.dumps({"type": "subscribe", "trip_id": trip_id}))
    while json.loads(await socket.recv())["type"] != "subscription_success":
        pass
    return socket


class Receiver:
    """Reads one socket; records when each benchmark message arrived."""

    def __init__(self, socket: ClientConnection, remote: bool) -> None:
        self.socket, self.remote = socket, remote
        self.arrived: dict[str, float] = {}

    async def run(self) -> None:
        async for raw in self.socket:
            message = json.loads(raw)
            if message["type"] == "chat_message":
                content = message["message"]["content"]
                if content.startswith("bench:"):
                    self.arrived[content] = time.perf_counter()


async def sample_memory(pids: list[int], every: float, into: list[list[int]]) -> None:
    while True:
        into.append([rss_kib(pid) for pid in pids])
        await asyncio.sleep(every)


async def fan_out(
    first: str,
    second: str,
    made: list[tuple[str, list[str]]],
    seconds: float,
    rate: float,
    memory: tuple[list[int], list[list[int]]],
) -> tuple[list[float], list[float], int, int]:
    """Cross-instance and same-instance latencies, messages sent, deliveries missing; the API
    processes' memory is sampled into `memory` as the messages flow."""
    senders: list[ClientConnection] = []
    receivers: list[Receiver] = []
    for trip_id, tokens in made:
        on_first = [await subscribed(first, trip_id, t) for t in tokens[:2]]
        on_second = [await subscribed(second, trip_id, t) for t in tokens[2:]]
        senders.append(on_first[0])
        receivers += [Receiver(s, remote=False) for s in on_first]
        receivers += [Receiver(s, remote=True) for s in on_second]
    reading = [asyncio.create_task(r.run()) for r in receivers]
    await asyncio.sleep(1)
    pids, samples = memory
    sampling = asyncio.create_task(sample_memory(pids, seconds / 4, samples))
    sent: dict[str, tuple[int, float]] = {}
    start, total = time.perf_counter(), int(rate * seconds)
    for n in range(total):
        due = start + n / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        room = n % ROOMS
        content = f"bench:{n}"
        sent[content] = (room, time.perf_counter())
        await senders[room].send(json.dumps({"type": "chat_message", "content": content}))
    sampling.cancel()
    samples.append([rss_kib(pid) for pid in pids])
    await asyncio.sleep(3)
    remote, local, missing = [], [], 0
    by_room: dict[int, list[Receiver]] = {}
    for index, receiver in enumerate(receivers):
        by_room.setdefault(index // PER_ROOM, []).append(receiver)
    for content, (room, at) in sent.items():
        for receiver in by_room[room]:
            arrived = receiver.arrived.get(content)
            if arrived is None:
                missing += 1
            else:
                (remote if receiver.remote else local).append(arrived - at)
    for task in reading:
        task.cancel()
    for receiver in receivers:
        await receiver.socket.close()
    return remote, local, total, missing


async def bare_redis(url: str, seconds: float, rate: float) -> list[float]:
    """Publish at the same rate on one channel; time each message to its subscriber."""
    client, listener = aioredis.Redis.from_url(url), aioredis.Redis.from_url(url)
    pubsub = listener.pubsub()
    await pubsub.subscribe("bench-baseline")
    arrived: dict[int, float] = {}

    async def read() -> None:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None:
                arrived[int(message["data"])] = time.perf_counter()

    reading = asyncio.create_task(read())
    sent: dict[int, float] = {}
    start = time.perf_counter()
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
        sent[n] = time.perf_counter()
        await client.publish("bench-baseline", str(n))
    await asyncio.sleep(1)
    reading.cancel()
    await pubsub.aclose()
    await client.aclose()
    await listener.aclose()
    return [arrived[n] - at for n, at in sent.items() if n in arrived]


async def idle_cost(base: str, trip_id: str, token: str, pid: int) -> float:
    """KiB of the API's memory per subscribed socket that does nothing."""
    before = rss_kib(pid)
    sockets = [await subscribed(base, trip_id, token) for _ in range(IDLE_SOCKETS)]
    await asyncio.sleep(2)
    after = rss_kib(pid)
    for socket in sockets:
        await socket.close()
    return (after - before) / IDLE_SOCKETS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--rate", type=float, default=RATE)
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="itinera-bench-chat-"))
    ports = [free_port(), free_port()]
    with (
        postgres_server() as admin,
        fresh_database(admin, "itinera_bench_chat") as db,
        kafka_broker() as bootstrap,
        redis_server() as redis_url,
    ):
        env = {
            "ITINERA_DATABASE_URL": as_url(db),
            "ITINERA_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "ITINERA_TOPIC_PARTITIONS": "4",
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
            running.start("worker", "worker")
            apis = [running.start(f"api{n}", "api", "--port", str(p)) for n, p in enumerate(ports)]
            first, second = (f"http://127.0.0.1:{p}" for p in ports)
            for base in (first, second):
                wait_for_http(f"{base}/health", running)
            people = asyncio.run(users(first, ROOMS * PER_ROOM))
            made = asyncio.run(rooms(first, people))
            baseline = asyncio.run(bare_redis(redis_url, args.seconds, args.rate))
            samples: list[list[int]] = []
            cpu_before = {n: cpu_seconds(p.pid) for n, p in running.processes.items()}
            remote, local, total, missing = asyncio.run(
                fan_out(
                    first, second, made, args.seconds, args.rate, ([p.pid for p in apis], samples)
                )
            )
            cpu = {n: cpu_seconds(p.pid) - cpu_before[n] for n, p in running.processes.items()}
            idle = asyncio.run(idle_cost(second, made[0][0], made[0][1][2], apis[1].pid))
            running.check()
    results = {
        "remote": remote,
        "local": local,
        "baseline": baseline,
        "total": total,
        "missing": missing,
        "memory": samples,
        "idle": idle,
        "rate": args.rate,
        "cpu": {name: round(seconds / args.seconds, 2) for name, seconds in cpu.items()},
    }
    header = ["path", "latency", "deliveries"]
    rows = [
        ["posted on api 1 → socket on api 2 (Redis)", p50_p99(remote), f"{len(remote):,}"],
        ["posted on api 1 → socket on api 1", p50_p99(local), f"{len(local):,}"],
        ["baseline: bare Redis pub/sub round trip", p50_p99(baseline), f"{len(baseline):,}"],
    ]
    print_table("Chat fan-out", header, rows)
    print(
        json.dumps(
            {k: v for k, v in results.items() if k in ("total", "missing", "memory", "idle", "cpu")}
        )
    )
    if args.write_docs:
        write_section("chat", _doc(machine(admin), header, rows, results))


def _doc(where: str, header: list[str], rows: list[list[str]], r: dict[str, Any]) -> str:
    p99 = percentile(r["remote"], 99) * 1000
    verdict = "met" if p99 <= 50 else "not met"
    memory = "; ".join(
        f"api {n + 1}: " + " → ".join(f"{sample[n] / 1024:,.0f}" for sample in r["memory"]) + " MiB"
        for n in range(2)
    )
    cpu = ", ".join(f"{name} {share:.2f}" for name, share in r["cpu"].items())
    return f"""## Chat fan-out across API instances

{where}

Reproduce (about a minute): `.venv/bin/python -m tests.benchmarks.chat --write-docs`

Two `itinera api` processes (one uvicorn worker each), `itinera relay` and `itinera worker`
over a fresh database, Tansu (4 partitions) and Redis. {ROOMS} rooms (trips) of {PER_ROOM}
members, each member's socket subscribed: two on each instance, {ROOMS * PER_ROOM} sockets in
all. One socket per room on the first instance posts; {r["rate"]:,.0f} messages/s in all, sent
open-loop round-robin over the rooms, {r["total"]:,} messages. A message is received when a
socket reads its `chat_message` broadcast; the latency runs from the send. The baseline is a
bare `redis.asyncio` publish → subscriber round trip at the same rate, in the same run.

{markdown_table(header, rows)}

Deliveries missing: {r["missing"]} of {r["total"] * PER_ROOM:,}. Target p99 ≤ 50 ms from one
instance to another: **{verdict}** (p99 {p99:,.1f} ms). What a broadcast costs beyond Redis:
storing the message first (the trip's membership is checked from the event store, the slot
is taken with one insert), the sender's profile for the payload, then one publish; every
socket orders what it receives by room sequence.

CPU while the messages flowed, in cores: {cpu} (PostgreSQL, Redis, Tansu and this load
generator, with its {ROOMS * PER_ROOM} sockets, share the same two cores). The p99 is set by
that contention, not by any one step: each API process spends most of a post waiting on
PostgreSQL (a profile of the posting instance: about a quarter of its samples in `Chat.post`,
mostly its two indexed reads and the insert), and the Redis hop itself is the baseline row.

Memory (RSS) of the two API processes, sampled as the messages flowed: {memory}. An idle
subscribed socket costs about
**{r["idle"]:,.0f} KiB** of the API process ({IDLE_SOCKETS} sockets opened on one room, RSS
before and after).
"""


if __name__ == "__main__":
    main()
