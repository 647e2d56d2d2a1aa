"""A lean open-loop load generator: raw HTTP/1.1 over kept-alive connections (requests are
prebuilt bytes; a response is read by its Content-Length), so a command costs the generator
a small fraction of a millisecond of CPU and its timings measure Itinera, not itself."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import orjson
import psycopg


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self._writer.write(raw)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self._reader.readexactly(length)

    def close(self) -> None:
        self._writer.close()


def patch_request(host: str, trip_id: UUID, token: str, title: str) -> bytes:
    body = orjson.dumps({"title": title})
    return (
        f"PATCH /api/v1/trips/{trip_id} HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


@dataclass
class Trip:
    id: UUID
    token: str
    version: int


@dataclass
class Command:
    trip: Trip
    expected: int
    scheduled: float
    sent: float = 0.0
    answered: float | None = None
    status: int | None = None
    visible: float | None = None


@dataclass
class Run:
    rate: float
    seconds: float
    commands: list[Command]
    skipped: int  # due, but every trip had a command in flight
    generator_cpu: float  # seconds of this process's CPU while driving

    def visible(self) -> list[float]:
        return [c.visible - c.scheduled for c in self.commands if c.visible is not None]

    def round_trips(self) -> list[float]:
        return [c.answered - c.scheduled for c in self.commands if c.answered is not None]

    def send_lags(self) -> list[float]:
        return [c.sent - c.scheduled for c in self.commands]

    @property
    def achieved(self) -> float:
        return len(self.commands) / self.seconds

    @property
    def lost(self) -> int:
        return sum(1 for c in self.commands if c.status == 200 and c.visible is None)

    @property
    def failed(self) -> int:
        return sum(1 for c in self.commands if c.status != 200)


@dataclass
class Driver:
    host: str
    port: int
    conninfo: str
    trips: Sequence[Trip]
    connections: int = 32
    free: deque[Trip] = field(default_factory=deque)
    in_flight: dict[UUID, Command] = field(default_factory=dict)

    async def run(self, rate: float, seconds: float, drain: float = 10.0) -> Run:
        self.free = deque(self.trips)
        pool: asyncio.Queue[Connection] = asyncio.Queue()
        for _ in range(self.connections):
            pool.put_nowait(await Connection.open(self.host, self.port))
        commands: list[Command] = []
        tasks: list[asyncio.Task[None]] = []
        skipped = 0
        sending = True
        async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as db:
            poller = asyncio.create_task(self._poll(db, lambda: sending))
            cpu_before = time.process_time()
            start = time.perf_counter()
            for i in range(int(rate * seconds)):
                due = start + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if not self.free:
                    skipped += 1
                    continue
                trip = self.free.popleft()
                command = Command(trip, trip.version + 1, scheduled=due)
                self.in_flight[trip.id] = command
                commands.append(command)
                tasks.append(asyncio.create_task(self._send(pool, command, f"load {i}")))
            elapsed = time.perf_counter() - start
            await asyncio.gather(*tasks)
            generator_cpu = time.process_time() - cpu_before
            for command in commands:
                if command.status != 200:
                    self.in_flight.pop(command.trip.id, None)
            sending = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(poller, drain)
            poller.cancel()
        while not pool.empty():
            pool.get_nowait().close()
        return Run(rate, elapsed, commands, skipped, generator_cpu)

    async def capacity(self, seconds: float, connections: int = 16) -> tuple[float, float]:
        """Closed loop: `connections` clients each sending the next PATCH as soon as the last
        was answered (no projection waited for). Returns PATCHes per second and the p50."""
        answered: list[float] = []
        stop = time.perf_counter() + seconds

        async def client(n: int) -> None:
            connection = await Connection.open(self.host, self.port)
            trips = self.trips[n::connections]
            k = 0
            while time.perf_counter() < stop:
                trip = trips[k % len(trips)]
                k += 1
                started = time.perf_counter()
                status, _ = await connection.request(
                    patch_request(self.host, trip.id, trip.token, f"capacity {k}")
                )
                if status == 200:
                    answered.append(time.perf_counter() - started)
            connection.close()

        started = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(connections)))
        answered.sort()
        return len(answered) / (time.perf_counter() - started), answered[len(answered) // 2]

    async def _send(self, pool: asyncio.Queue[Connection], command: Command, title: str) -> None:
        connection = await pool.get()
        command.sent = time.perf_counter()
        try:
            status, body = await connection.request(
                patch_request(self.host, command.trip.id, command.trip.token, title)
            )
        finally:
            pool.put_nowait(connection)
        command.answered = time.perf_counter()
        command.status = status
        if status == 200:
            command.expected = int(orjson.loads(body)["data"]["version"])

    async def _poll(self, db: psycopg.AsyncConnection[Any], sending: Any) -> None:
        """After each projection commit (the NOTIFYs a projection batch sends), or every
        50 ms at the latest, the in-flight trips whose view reached the command's version:
        the database compares, so only those rows come back."""
        async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as ears:
            await ears.execute("LISTEN itinera_projections")
            while sending() or self.in_flight:
                async for _ in ears.notifies(timeout=0.05, stop_after=1):
                    pass
                if not self.in_flight:
                    continue
                commands = list(self.in_flight.values())
                looked = time.perf_counter()  # the query's snapshot is taken just after
                cursor = await db.execute(
                    "SELECT t.id, v.version FROM unnest(%b::uuid[], %b::int[]) AS t(id, wanted)"
                    " JOIN trip_views v ON v.trip_id = t.id WHERE v.version >= t.wanted",
                    ([c.trip.id for c in commands], [c.expected for c in commands]),
                )
                for trip_id, version in await cursor.fetchall():
                    command = self.in_flight.pop(trip_id)
                    command.visible = looked
                    command.trip.version = version
                    self.free.append(command.trip)
