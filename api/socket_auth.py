"""How a socket proves who it is: a ticket (browsers), a `token` query parameter or an
`Authorization: Bearer` header (the seed's two). Sockets are accepted first and then closed
with a code the client can read: 4001 for any authentication failure."""

from __future__ import annotations

import contextlib

from fastapi import WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from infra.wiring import Container
from write_side.errors import AuthenticationError
from write_side.identity.tokens import Claims

UNAUTHORIZED = 4001
FORBIDDEN = 4003
TOO_SLOW = 4008


class Closing(Exception):
    """Close the socket with this code: raised by any task of a socket's session."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def authenticated(socket: WebSocket, container: Container) -> Claims:
    """From `?ticket=` (browsers), `?token=` or `Authorization: Bearer` (the seed's two)."""
    ticket = socket.query_params.get("ticket")
    if ticket:
        return await run_in_threadpool(container.accounts.tokens.redeem_ticket, ticket)
    token = socket.query_params.get("token")
    header = socket.headers.get("authorization", "")
    if not token and header.lower().startswith("bearer "):
        token = header[7:].strip()
    if not token:
        raise AuthenticationError("no token")
    return await run_in_threadpool(container.accounts.authenticate, token)


async def close(socket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await socket.close(code, reason)
