"""A TCP proxy a test can cut and restore: an outage of whatever is behind it, as its
clients see one (connections reset, new ones refused), without stopping that service."""

from __future__ import annotations

import contextlib
import socket
import threading

_RESET = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # SO_LINGER on, 0 s: close sends a reset


class CuttableProxy:
    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._marker: bytes | None = None
        self._muted: set[socket.socket] = set()
        self._armed: set[socket.socket] = set()
        self._after = 0.0
        self._stalled = threading.Event()
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.listen_port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and reset the open ones."""
        with self._lock:
            if self._listener is not None:
                # shutdown wakes the thread blocked in accept(); a bare close would leave
                # the kernel socket listening until that accept returned.
                with contextlib.suppress(OSError):
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
        self.reset_connections()

    close = cut

    def stall(self) -> None:
        """Keep every connection open but pass nothing either way: a service that hangs."""
        self._stalled.set()

    def unstall(self) -> None:
        self._stalled.clear()

    def reset_connections(self) -> None:
        """Reset the open connections; new ones are still accepted."""
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
                    sock.close()
            self._sockets.clear()

    def lose_the_reply_to(self, marker: bytes, after: float = 0.3) -> None:
        """The next prepared statement whose text holds `marker` is executed by the server,
        but its reply never reaches the client: `after` seconds later (the server has done
        it, autocommit included) the connection is reset. (psycopg prepares a statement,
        waits for the answer, then executes it: what is lost is the execution's reply.)"""
        self._marker, self._after = marker, after

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink, outbound in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(
                    target=self._pipe, args=(source, sink, outbound), daemon=True
                ).start()

    def _reset(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
                sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked reading it
            with contextlib.suppress(OSError):
                sock.close()

    def _pipe(self, source: socket.socket, sink: socket.socket, outbound: bool) -> None:
        try:
            while data := source.recv(65536):
                if outbound and source in self._armed:
                    # The statement's execution (the message after its Parse) goes through;
                    # no reply comes back, and the connection is reset once it is done.
                    self._armed.discard(source)
                    self._muted.add(source)
                    threading.Timer(self._after, self._reset, (source, sink)).start()
                elif outbound and self._marker is not None and self._marker in data:
                    self._marker = None
                    self._armed.add(source)
                if sink not in self._muted and not self._stalled.is_set():
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.close()
