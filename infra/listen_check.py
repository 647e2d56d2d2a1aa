"""Whether the HTTP server will be able to listen, found out before anything is started or
migrated: a taken port should cost the operator one line, not a started database and a
migration followed by uvicorn's bind error."""

from __future__ import annotations

import socket


class CannotListenError(RuntimeError):
    pass


def check_can_listen(host: str, port: int) -> None:
    """Bind every address `host` resolves to, as asyncio's server will (SO_REUSEADDR, IPv6
    sockets IPv6-only), and let go; raise CannotListenError naming the first that fails."""
    try:
        addresses = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as error:
        raise CannotListenError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    for family, kind, protocol, _, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as error:
                raise CannotListenError(
                    f"cannot listen on {host}:{port} ({error.strerror});"
                    " stop what uses it, or pass another --port"
                ) from None
