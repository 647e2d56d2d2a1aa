"""ASGI middleware: correlation ids, and one spelling of every path."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from uuid import UUID, uuid4

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# W3C Trace Context: version-trace id-parent id-flags, ids not all zeros, version not ff.
_TRACEPARENT = re.compile(
    rb"(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}"
)


class CorrelationIdMiddleware:
    """Takes `X-Correlation-Id` (a UUID) from the request or makes one, and echoes it; keeps
    a well-formed W3C `traceparent`, which the request's events carry on to Kafka."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id, traceparent = uuid4(), None
        for name, value in scope["headers"]:
            if name == b"x-correlation-id":
                # A malformed id from a client is replaced, not trusted.
                with contextlib.suppress(ValueError):
                    correlation_id = UUID(value.decode("latin-1"))
            elif name == b"traceparent" and _TRACEPARENT.fullmatch(value[:55]):
                traceparent = value[:55].decode()
        state = scope.setdefault("state", {})
        state["correlation_id"] = correlation_id
        state["traceparent"] = traceparent

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


class BodySizeLimitMiddleware:
    """Refuses a request body over `max_bytes` (or the larger limit of its path) with 413,
    before anything parses it."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, larger: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        most = self.larger.get(scope["path"], self.max_bytes)
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > most:
                await self._refuse(send, most)
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > most:
                    # FastAPI re-raises HTTPException from body reading (anything else becomes
                    # a generic 400), and the error mapping renders it in the envelope.
                    raise HTTPException(413, _too_large(most))
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, send: Send, most: int) -> None:
        body = json.dumps(
            {
                "data": None,
                "error": {
                    "code": "payload_too_large",
                    "message": _too_large(most),
                    "details": None,
                },
                "meta": {},
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _too_large(most: int) -> str:
    return f"The request body exceeds {most} bytes"
