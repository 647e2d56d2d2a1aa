"""ASGI middleware: correlation ids, and one spelling of every path."""

from __future__ import annotations

import contextlib
from uuid import UUID, uuid4

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class CorrelationIdMiddleware:
    """Takes `X-Correlation-Id` (a UUID) from the request or makes one, and echoes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = uuid4()
        for name, value in scope["headers"]:
            if name == b"x-correlation-id":
                # A malformed id from a client is replaced, not trusted.
                with contextlib.suppress(ValueError):
                    correlation_id = UUID(value.decode("latin-1"))
        scope.setdefault("state", {})["correlation_id"] = correlation_id

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append(
                    (b"x-correlation-id", str(correlation_id).encode())
                )
            await send(message)

        await self.app(scope, receive, send_with_header)


class TrailingSlashMiddleware:
    """`/trips/` and `/trips` reach the same route, with no redirect (clients re-POST badly)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] in ("http", "websocket") and len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/")}
        await self.app(scope, receive, send)
