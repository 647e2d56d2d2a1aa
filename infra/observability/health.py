"""Is each dependency reachable now? One probe per dependency, each answering within a bound
even when the dependency hangs (a probe that has not answered by then counts as down; its
thread finishes on its own client timeouts).

What a probe answers is safe to show publicly: a status, how long it took and a reason from a
fixed set (`timeout`, `unreachable`, `error`); the error itself, which may name hosts, goes to
the log only.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import psycopg
import redis
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from infra.settings import Settings

log = logging.getLogger(__name__)

Probe = Callable[[], None]  # returns when the dependency answered; raises otherwise

# Threads for probes; a hung probe holds one until its client's own timeout passes.
_probes = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    seconds: float
    reason: str | None = None  # timeout, unreachable, error

    def public(self) -> dict[str, object]:
        body: dict[str, object] = {
            "status": "ok" if self.ok else "down",
            "seconds": round(self.seconds, 4),
        }
        if self.reason is not None:
            body["reason"] = self.reason
        return body


def database_probe(url: str, timeout: float) -> Probe:
    def probe() -> None:
        # connect_timeout bounds the handshake, statement_timeout the query, in PostgreSQL.
        with psycopg.connect(
            url,
            connect_timeout=max(1, round(timeout)),
            autocommit=True,
            options=f"-c statement_timeout={int(timeout * 1000)}",
        ) as conn:
            conn.execute("SELECT 1")

    return probe


def redis_probe(url: str, timeout: float) -> Probe:
    def probe() -> None:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()

    return probe


def kafka_probe(bootstrap_servers: str, timeout: float) -> Probe:
    def probe() -> None:
        ms = int(timeout * 1000)
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap_servers,
            client_id="itinera-health",
            request_timeout_ms=ms,
        )
        try:
            admin.list_topics()
        finally:
            admin.close()

    return probe


def dependency_probes(settings: Settings, *, kafka: bool) -> dict[str, Probe]:
    """The probes of what this process depends on: the database always; Redis when set;
    Kafka when this role uses it (`kafka`) and, for the API, when it is set explicitly."""
    timeout = settings.health_timeout_seconds
    probes: dict[str, Probe] = {}
    if settings.database_url:
        probes["database"] = database_probe(settings.database_url, timeout)
    if settings.redis_url:
        probes["redis"] = redis_probe(settings.redis_url, timeout)
    if kafka:
        probes["kafka"] = kafka_probe(settings.kafka_bootstrap_servers, timeout)
    return probes


def _run(name: str, probe: Probe) -> Check:
    started = time.perf_counter()
    try:
        probe()
    except (psycopg.OperationalError, redis.ConnectionError, KafkaError, OSError) as error:
        log.warning("health: %s unreachable: %s", name, error)
        return Check(name, False, time.perf_counter() - started, _reason(error))
    except Exception as error:
        log.warning("health: %s failed: %r", name, error)
        return Check(name, False, time.perf_counter() - started, "error")
    return Check(name, True, time.perf_counter() - started)


def _reason(error: BaseException) -> str:
    text = str(error).lower()
    timed_out = isinstance(error, TimeoutError | redis.TimeoutError) or "timeout" in text
    return "timeout" if timed_out or "timed out" in text else "unreachable"


def check_now(probes: Mapping[str, Probe], timeout: float) -> list[Check]:
    """Every probe at once; each answers within `timeout` (else it is down: timeout)."""
    started = time.perf_counter()
    futures = {name: _probes.submit(_run, name, probe) for name, probe in probes.items()}
    checks = []
    for name, future in futures.items():
        left = max(timeout - (time.perf_counter() - started), 0.0)
        try:
            checks.append(future.result(timeout=left))
        except concurrent.futures.TimeoutError:
            log.warning("health: %s did not answer within %.1f s", name, timeout)
            checks.append(Check(name, False, time.perf_counter() - started, "timeout"))
    return checks


async def check(probes: Mapping[str, Probe], timeout: float) -> list[Check]:
    """`check_now` off the event loop; answers within `timeout` plus a little."""
    return await asyncio.get_running_loop().run_in_executor(None, check_now, probes, timeout)
