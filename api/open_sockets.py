"""The WebSocket sessions open in this API process, so that a stopping server closes them
with 1001 (going away) before uvicorn drops what is left with 1012 (service restart).

Each socket's session runs inside `OpenSockets.held(socket)`. `going_away` (which the app
puts in its lifespan state, where the server finds it as soon as a shutdown begins: see
infra/cli/roles.py) cancels every session; each runs its own clean-up (a chat session still
tells the room the user left), closes its socket with 1001 and unregisters; `going_away`
returns once none is left. A socket that opens meanwhile is closed at once the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import WebSocket

from api.socket_auth import close
from infra.wiring import metrics

GOING_AWAY = 1001
# The server awaits what the lifespan state holds under this key (GOING_AWAY_STATE_KEY in
# infra/cli/roles.py, which cannot import api).
GOING_AWAY_STATE_KEY = "going_away"


class OpenSockets:
    def __init__(self) -> None:
        self._sessions: set[anyio.CancelScope] = set()
        self._leaving = False
        self._none_open = asyncio.Event()
        self._none_open.set()

    def __len__(self) -> int:
        return len(self._sessions)

    @asynccontextmanager
    async def held(self, socket: WebSocket, kind: str) -> AsyncIterator[None]:
        """Run a session's body as an open socket of `kind` (chat, notifications: counted in
        the metrics): cancelled, and the socket closed with 1001, when the server goes away."""
        scope = anyio.CancelScope()
        connections = metrics.WS_CONNECTIONS.labels(kind)
        connections.inc()
        if self._leaving:
            scope.cancel()
        self._sessions.add(scope)
        self._none_open.clear()
        try:
            with scope:
                yield
            if scope.cancelled_caught:
                await close(socket, GOING_AWAY, "server shutting down")
        finally:
            connections.dec()
            self._sessions.discard(scope)
            if not self._sessions:
                self._none_open.set()

    async def going_away(self) -> None:
        """Close every open socket with 1001; return once all are closed."""
        self._leaving = True
        for scope in list(self._sessions):
            scope.cancel()
        await self._none_open.wait()
