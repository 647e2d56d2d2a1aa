"""The read benchmark's tables, anomalies and section of docs/benchmarks.md, from its figures
(tests/benchmarks/reads.py measures them)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from tests.benchmarks.harness import markdown_table, ms, percentile

if TYPE_CHECKING:
    from tests.benchmarks.reads import Mixed, OpenLoop, Pair
    from tests.benchmarks.wrk import Result

TARGET_RATIO = 0.70
TARGET_P99 = 0.015
Table = tuple[str, list[str], list[list[str]]]


@dataclass
class Figures:
    throughput: list[Pair]  # the 5 x 5 trip and its bare twin
    references: list[Pair]  # health and the 401, no bare twin
    latency: list[OpenLoop]  # the bare app, then Itinera
    sizes: list[Pair]
    mixed: Mixed
    wrk_connections: int
    rate: int
    readers: int
    writers: int


def median(results: Sequence[Result]) -> float:
    return statistics.median(r.rate for r in results)


def rounds(results: Sequence[Result]) -> str:
    low, high = min(r.rate for r in results), max(r.rate for r in results)
    return f"{median(results):,.0f} ({low:,.0f} to {high:,.0f})"


def ratio(pair: Pair, bare: Pair | None = None) -> float:
    return median(pair.itinera) / median((bare or pair).bare)


def cpu(results: Sequence[Result]) -> str:
    seconds = sum(r.cpu for r in results) / max(sum(r.requests for r in results), 1)
    return f"{seconds * 1e6:,.0f} µs"


def failed(results: Sequence[Result]) -> str:
    return f"{sum(r.failed for r in results):,} of {sum(r.requests for r in results):,}"


def late(seconds: float) -> str:
    return "not answered" if math.isinf(seconds) else ms(seconds)


def kb(body: bytes) -> str:
    return f"{len(body) / 1024:,.1f} KB"


def tables(f: Figures) -> list[Table]:
    trip = f.throughput[0]
    throughput = [
        [
            "bare FastAPI, the same body",
            kb(trip.target.body),
            rounds(trip.bare),
            "1.00",
            failed(trip.bare),
            cpu(trip.bare),
        ],
        [
            f"`GET /api/v1/trips/{{id}}`, {trip.target.label}",
            kb(trip.target.body),
            rounds(trip.itinera),
            f"**{ratio(trip):.2f}**",
            failed(trip.itinera),
            cpu(trip.itinera),
        ],
    ] + [
        [
            p.target.label,
            kb(p.target.body),
            rounds(p.itinera),
            f"{ratio(p, trip):.2f}",
            failed(p.itinera),
            cpu(p.itinera),
        ]
        for p in f.references
    ]
    latency = [
        [
            name,
            f"{run.target_rate:,.0f} / {run.rate:,.0f} per s",
            late(percentile(run.latencies, 50)),
            late(percentile(run.latencies, 99)),
            f"{run.failed:,} + {run.latencies.count(math.inf):,} never answered",
            f"{run.cpu / max(len(run.latencies), 1) * 1e6:,.0f} µs",
        ]
        for name, run in zip(
            ("bare FastAPI, the same body", "Itinera, trip 5 x 5"), f.latency, strict=True
        )
    ]
    sizes = [
        [
            p.target.label,
            f"{p.target.history:,}",
            kb(p.target.body),
            rounds(p.bare),
            rounds(p.itinera),
            f"{ratio(p):.2f}",
            failed(p.itinera),
        ]
        for p in f.sizes
    ]
    m = f.mixed
    mixed = [
        [
            name,
            f"{clients}",
            f"{r.requests:,}",
            f"{r.rate:,.0f}",
            ms(r.p50),
            ms(r.p99),
            failed([r]),
            cpu([r]),
        ]
        for name, clients, r in (("reads", f.readers, m.reads), ("writes", f.writers, m.writes))
    ]
    return [
        (
            "Throughput, closed loop",
            [
                "request",
                "body",
                "req/s, median (range)",
                "/ bare",
                "status ≥ 400",
                "wrk CPU per request",
            ],
            throughput,
        ),
        (
            f"Latency at {f.rate:,}/s, open loop",
            [
                "server",
                "rate (target / sent)",
                "p50",
                "p99",
                "status ≥ 400 + unanswered",
                "generator CPU per request",
            ],
            latency,
        ),
        (
            "Cost against size",
            [
                "GET",
                "events or trips behind it",
                "body",
                "bare req/s",
                "Itinera req/s",
                "/ bare",
                "status ≥ 400",
            ],
            sizes,
        ),
        (
            "Mixed load",
            [
                "requests",
                "clients",
                "answered",
                "per s",
                "p50",
                "p99",
                "status ≥ 400",
                "wrk CPU per request",
            ],
            mixed,
        ),
    ]


def rss(f: Figures) -> str:
    mb = [b / 2**20 for b in f.mixed.rss]
    return f"start {mb[0]:,.0f} MB, max {max(mb):,.0f} MB, end {mb[-1]:,.0f} MB ({len(mb)} samples)"


def _by_label(f: Figures, start: str) -> list[Pair]:
    return [p for p in f.sizes if p.target.label.startswith(start)]


def anomalies(f: Figures) -> list[str]:
    found = []
    every = [*f.throughput, *f.sizes, *f.references[:1]]
    for pair in every:
        for side, results in (("Itinera", pair.itinera), ("bare app", pair.bare)):
            if any(r.failed for r in results):
                found.append(f"{pair.target.label} ({side}): {failed(results)} failed")
            if results and (
                max(r.rate for r in results) - min(r.rate for r in results)
            ) > 0.2 * median(results):
                found.append(
                    f"{pair.target.label} ({side}): rounds spread over 20% ({rounds(results)})"
                )
    for run, name in zip(f.latency, ("bare app", "Itinera"), strict=True):
        if run.rate < 0.97 * run.target_rate:
            found.append(f"open loop, {name}: sent {run.rate:,.0f}/s of {run.target_rate:,}/s")
        if run.failed or math.inf in run.latencies:
            unanswered = run.latencies.count(math.inf)
            found.append(f"open loop, {name}: {run.failed:,} failed, {unanswered:,} unanswered")
    for name, r in (("reads", f.mixed.reads), ("writes", f.mixed.writes)):
        if r.failed:
            found.append(f"mixed load, {name}: {failed([r])} failed")
    mb = f.mixed.rss
    if max(mb) > 1.2 * mb[0]:
        found.append(f"API memory grew under the mixed load: {rss(f)}")
    return found or ["none seen in this run"]


def verdicts(f: Figures) -> str:
    trip = f.throughput[0]
    itinera = f.latency[1]
    p99 = percentile(itinera.latencies, 99)
    trips, lists = _by_label(f, "trip"), _by_label(f, "list")
    small, large, plain, edited = trips[0], trips[2], trips[1], trips[3]
    m = f.mixed
    growth = len(large.target.body) / len(small.target.body)
    lines = [
        f"- **Throughput:** the 5 x 5 trip is served at **{ratio(trip):.0%}** of the bare app "
        f"(target ≥ {TARGET_RATIO:.0%}: {'met' if ratio(trip) >= TARGET_RATIO else 'not met'}).",
        f"- **Latency at {f.rate:,}/s:** p99 **{late(p99)}** (target ≤ {ms(TARGET_P99)}: "
        f"{'met' if p99 <= TARGET_P99 and itinera.rate >= 0.97 * f.rate else 'not met'}), "
        f"beside {late(percentile(f.latency[0].latencies, 99))} for the bare app.",
        f"- **Size:** 250 items cost {median(small.itinera) / median(large.itinera):.1f}x "
        f"a 1-item trip per request, for a body {growth:.0f}x "
        f"as large (the bare app: {median(small.bare) / median(large.bare):.1f}x). "
        f"{edited.target.history:,} events of history instead of {plain.target.history:,} "
        f"change the rate by {median(edited.itinera) / median(plain.itinera) - 1:+.0%}.",
        f"- **Lists:** {median(lists[0].itinera):,.0f}, {median(lists[1].itinera):,.0f} and "
        f"{median(lists[2].itinera):,.0f} req/s for users with "
        + ", ".join(f"{p.target.history:,}" for p in lists)
        + " trips (pages of "
        + ", ".join(f"{len(orjson.loads(p.target.body)['data']):,}" for p in lists)
        + " trips).",
        f"- **Mixed load:** read p50 {ms(m.reads.p50)} against write p50 {ms(m.writes.p50)} "
        f"(target: reads faster: {'met' if m.reads.p50 < m.writes.p50 else 'not met'}); "
        f"API memory {rss(f)}.",
    ]
    return "\n".join(lines)


def document(where: str, f: Figures) -> str:
    (_, h1, r1), (_, h2, r2), (_, h3, r3), (_, h4, r4) = tables(f)
    seconds = f.throughput[0].itinera[0].seconds
    n = len(f.throughput[0].itinera)
    return f"""## Reads

{where}

Reproduce (about 6 minutes): `.venv/bin/python -m tests.benchmarks.reads --write-docs`

`itinera serve` (one uvicorn worker, projections in the same process) over a fresh database,
beside a bare FastAPI app (`tests/benchmarks/bare_app.py`, its own uvicorn process with the
same settings) that answers each request with the very bytes Itinera answered for it, prebuilt:
no middleware, token, database or encoding. Neither writes an access log line per request
(`ITINERA_ACCESS_LOG=false`, as behind a proxy that keeps one); Itinera keeps its metrics,
correlation ids and every check. Users, trips, destinations, activities and edits
are made through the API first (timed, costed activities; the rate limits raised). Closed
loop is `wrk` (C, one thread, {f.wrk_connections} kept-alive connections, fetched by the
script from Debian's package into `.cache/wrk`); each figure is the median of {n} rounds of
{seconds:.0f} s alternating with its baseline, range in brackets; the CPU `wrk` itself spent
per request is in the last column.

### Throughput

{markdown_table(h1, r1)}

### Latency at a fixed rate

GETs due every {1000 / f.rate:g} ms whatever the answers (open loop, a Python raw-socket
client on uvloop over 64 kept-alive connections, `tests/benchmarks/load.py`'s connection);
latency runs from when a request was due, so a queue shows.

{markdown_table(h2, r2)}

### Cost against size

Trips of 1, 25 (5 destinations x 4 activities) and 250 (10 x 24) items, a 25-item trip
edited {f.sizes[3].target.history - f.sizes[1].target.history:,} more times, and the first
page (50) of the trip list of users owning 10, 100 and 1,000 trips. Each beside the bare app
returning the same bytes.

{markdown_table(h3, r3)}

### Mixed load

{f.readers + f.writers} closed-loop clients at once for {f.mixed.reads.seconds:.0f} s, two
`wrk` processes: {f.readers} read (the detail of 10 trips of 5 x 5, and their owner's list,
one list per four details), {f.writers} write (`PATCH` of those trips' titles, and
`POST /api/v1/activities` into 10 other trips, so the trips read keep their size). Writes are
paced as by default (`ITINERA_WRITE_PACING_LIMIT=16`, see "Write pacing" in docs/design.md).
Readers of one trip queued for a read connection at once share its statement (see "The
projection engine" in docs/design.md): 150 readers of 10 trips share more than readers of
many trips would. The API
process's resident memory (psutil) sampled every second: {rss(f)}.

{markdown_table(h4, r4)}

### What the figures say

{verdicts(f)}

### Anomalies

{chr(10).join(f"- {a}" for a in anomalies(f))}
"""
