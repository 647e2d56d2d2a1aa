"""Each HTTP request counted and timed by route template (never by raw path: ids would make
the series unbounded), and each command (a write under /api/v1) by name and outcome."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra.wiring import metrics

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNMATCHED = "unmatched"  # a path no route serves (404 before routing)


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app fails before responding

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics.HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_counted)
        finally:
            metrics.HTTP_IN_FLIGHT.dec()
            self._record(scope, status, time.perf_counter() - started)

    @staticmethod
    def _record(scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = _template(scope["path"], getattr(route, "path", None))
        method = scope["method"]
        metrics.HTTP_REQUESTS.labels(template, method, str(status)).inc()
        metrics.HTTP_LATENCY.labels(template, method).observe(seconds)
        if method in WRITES and template.startswith("/api/v1/"):
            state = scope.get("state", {})
            outcome = "ok" if status < 400 else str(state.get("error_code") or status)
            metrics.COMMANDS.labels(getattr(route, "name", template), outcome).inc()


def _template(path: str, relative: str | None) -> str:
    """The route's full template: a route of an included router knows only its own part
    (`/trips/{trip_id}`); the segments before it are the router's static prefix (`/api/v1`),
    read off the path."""
    if relative is None:
        return UNMATCHED
    parts = path.rstrip("/").split("/")
    own = relative.rstrip("/").count("/")
    prefix = "/".join(parts[: max(len(parts) - own, 1)])
    return prefix + relative
