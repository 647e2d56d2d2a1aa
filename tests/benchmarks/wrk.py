"""`wrk` (a C HTTP load generator, closed loop: each connection sends its next request when
the last is answered) as a library: fetched from Debian's package into .cache/wrk on first use
(only unpacked, nothing installed, as scripts/test does for promtool), driven by a generated
Lua script that cycles through prebuilt requests, its figures read back as JSON, and its own
CPU time taken from the kernel's accounting of the finished process."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks.harness import ROOT

CACHE = ROOT / ".cache" / "wrk"
BINARY = CACHE / "usr" / "bin" / "wrk"
LIBRARIES = CACHE / "usr" / "lib" / "x86_64-linux-gnu"
PACKAGES = ("wrk", "libluajit-5.1-2")


def ensure_wrk() -> Path:
    """The wrk binary, unpacked from Debian's packages on first use."""
    if BINARY.exists():
        return BINARY
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise RuntimeError("wrk is missing and there is no apt-get/dpkg-deb to fetch it")
    print(f"Unpacking wrk into {CACHE} ...")
    CACHE.mkdir(parents=True, exist_ok=True)  # dpkg-deb -x makes no parent folders
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", *PACKAGES], cwd=tmp, check=True, timeout=300)
        for deb in glob.glob(f"{tmp}/*.deb"):
            subprocess.run(["dpkg-deb", "-x", deb, str(CACHE)], check=True)
    if not BINARY.exists():
        raise RuntimeError(f"no {BINARY} in the unpacked packages")
    return BINARY


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: str | None = None


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    failed: int  # responses with status >= 400, plus socket errors and timeouts
    p50: float  # seconds, from sending a request to its response
    p99: float
    cpu: float  # seconds of wrk's own CPU (user + system)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_per_request(self) -> float:
        return self.cpu / max(self.requests, 1)


def _lua(value: str) -> str:
    return json.dumps(value, ensure_ascii=True)  # a valid Lua string literal for ASCII text


def _script(requests: list[Request], out: Path) -> str:
    lines = ["local reqs = {}"]
    for r in requests:
        headers = ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in r.headers.items())
        body = _lua(r.body) if r.body is not None else "nil"
        lines.append(
            f"reqs[#reqs + 1] = wrk.format({_lua(r.method)}, {_lua(r.path)}, {{{headers}}}, {body})"
        )
    lines += [
        "local i = 0",
        "request = function()",
        "  i = i + 1",
        "  return reqs[(i % #reqs) + 1]",
        "end",
        "done = function(summary, latency, requests)",
        f"  local f = io.open({_lua(str(out))}, 'w')",
        "  local e = summary.errors",
        "  f:write(string.format('[%d, %d, %d, %d, %d]', summary.requests, summary.duration,",
        "    e.status + e.connect + e.read + e.write + e.timeout,",
        "    latency:percentile(50), latency:percentile(99)))",
        "  f:close()",
        "end",
    ]
    return "\n".join(lines) + "\n"


class Running:
    """One wrk process under way; `result()` waits for it."""

    def __init__(self, base: str, requests: list[Request], seconds: float, connections: int):
        self._dir = Path(tempfile.mkdtemp(prefix="itinera-wrk-"))
        self._out = self._dir / "result.json"
        script = self._dir / "script.lua"
        script.write_text(_script(requests, self._out))
        self._log = (self._dir / "wrk.log").open("wb")
        self._process = subprocess.Popen(
            [
                str(ensure_wrk()),
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "30s",
                "-s",
                str(script),
                base,
            ],
            env={**os.environ, "LD_LIBRARY_PATH": str(LIBRARIES)},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def result(self) -> Result:
        # wait4 gives the finished process's own CPU time (Popen.wait does not).
        _, status, usage = os.wait4(self._process.pid, 0)
        self._process.returncode = os.waitstatus_to_exitcode(status)
        self._log.close()
        if self._process.returncode != 0 or not self._out.exists():
            log = (self._dir / "wrk.log").read_text(errors="replace")
            raise RuntimeError(f"wrk failed ({self._process.returncode}):\n{log}")
        requests, duration_us, failed, p50_us, p99_us = json.loads(self._out.read_text())
        shutil.rmtree(self._dir, ignore_errors=True)
        return Result(
            requests=requests,
            seconds=duration_us / 1e6,
            failed=failed,
            p50=p50_us / 1e6,
            p99=p99_us / 1e6,
            cpu=usage.ru_utime + usage.ru_stime,
        )


def start(base: str, requests: list[Request], seconds: float, connections: int = 16) -> Running:
    """wrk against `base` (scheme, host and port), one thread, `connections` kept-alive
    connections, cycling through `requests` in order."""
    return Running(base, requests, seconds, connections)


def run(base: str, requests: list[Request], seconds: float, connections: int = 16) -> Result:
    return start(base, requests, seconds, connections).result()
