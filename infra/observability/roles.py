"""What every role without an API starts with: its traces (when configured), and its
`/metrics` and `/health/` endpoint on `ITINERA_METRICS_PORT` (when set)."""

from __future__ import annotations

import logging
import threading

import psycopg

from infra.observability import metrics
from infra.observability.exposition import RoleEndpoint
from infra.observability.health import check_now, dependency_probes
from infra.observability.tracing import configure_tracing
from infra.postgres.projections.status import relay_health_of, relay_health_query
from infra.settings import Settings
from streams.relay import RELAY_POSITION

log = logging.getLogger(__name__)

RELAY_SAMPLE_SECONDS = 5.0


def observe_role(settings: Settings, role: str) -> RoleEndpoint | None:
    """Traces on (if configured); the endpoint started (if a port is set). Readiness probes
    PostgreSQL, Kafka, and Redis when set: what the relay, worker and planner use."""
    configure_tracing(settings, role)
    if settings.metrics_port is None:
        return None
    probes = dependency_probes(settings, kafka=True)
    return RoleEndpoint(
        settings.metrics_port, lambda: check_now(probes, settings.health_timeout_seconds)
    ).start()


class RelayLagSampler:
    """The relay's backlog (events recorded after its position) into `itinera_relay_lag_events`
    every few seconds, on a connection of its own, in a daemon thread."""

    def __init__(self, database_url: str, events_table: str) -> None:
        self._url = database_url
        self._query = relay_health_query(events_table)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="relay-lag", daemon=True)

    def start(self) -> RelayLagSampler:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()

    def sample(self) -> None:
        with psycopg.connect(self._url, autocommit=True, connect_timeout=5) as conn:
            found = relay_health_of(conn.execute(self._query, (RELAY_POSITION,)).fetchone())
        metrics.RELAY_LAG.set(found.backlog)

    def _run(self) -> None:
        while not self._stop.wait(RELAY_SAMPLE_SECONDS):
            try:
                self.sample()
            except psycopg.Error as error:  # the figure keeps its last value meanwhile
                log.warning("relay lag not sampled: %s", error)
