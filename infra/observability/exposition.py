"""The Prometheus text a process serves, and the small HTTP endpoint of the roles that have no
API (relay, worker, planner): `/metrics`, `/health/` (liveness) and `/health/ready/`."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from infra.observability.health import Check

log = logging.getLogger(__name__)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def render_metrics() -> tuple[bytes, str]:
    """This process's series; with `PROMETHEUS_MULTIPROC_DIR` set (`itinera api --workers
    N`), those of every worker process sharing it."""
    folder = os.environ.get(MULTIPROCESS_DIR)
    if folder:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def readiness_body(checks: list[Check]) -> tuple[int, dict[str, object]]:
    ready = all(c.ok for c in checks)
    body: dict[str, object] = {
        "status": "ok" if ready else "unavailable",
        "checks": {c.name: c.public() for c in checks},
    }
    return (200 if ready else 503), body


class RoleEndpoint:
    """A threaded HTTP server on `port` (all interfaces: a container's probes and Prometheus
    reach it) serving this process's metrics and health; `ready` runs the role's probes."""

    def __init__(self, port: int, ready: Callable[[], list[Check]]) -> None:
        handler = _handler(ready)
        self._server = ThreadingHTTPServer(("0.0.0.0", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics-endpoint", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> RoleEndpoint:
        self._thread.start()
        log.info("metrics and health served on port %d", self.port)
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(ready: Callable[[], list[Check]]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            if path == "/metrics":
                body, content_type = render_metrics()
                self._answer(200, body, content_type)
            elif path == "/health":
                self._json(200, {"status": "ok"})
            elif path == "/health/ready":
                self._json(*readiness_body(ready()))
            else:
                self._json(404, {"status": "not_found"})

        def _json(self, status: int, body: dict[str, object]) -> None:
            self._answer(status, json.dumps(body).encode(), "application/json")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Scrapes every few seconds are not worth a log line each."""

    return Handler
