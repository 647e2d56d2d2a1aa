"""`itinera serve` watched over: one per data directory, no PostgreSQL left behind by a
`kill -9`, no API left answering without its database, no migration when it cannot listen."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import psutil
import pytest

from tests.e2e.processes import ITINERA, Role, wait_for_http
from tests.services import free_port

pytestmark = pytest.mark.e2e

# Nothing here depends on the embedding model: the hashed one starts in no time.
ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("ITINERA_")},
    "ITINERA_EMBEDDING_MODEL": "hashed",
}
EXIT_BOUND_SECONDS = 60


def serve(tmp_path: Path, data_dir: Path, port: int) -> Role:
    role = Role("serve", ["serve", "--port", str(port), "--data-dir", str(data_dir)], {}, tmp_path)
    role.env = ENV
    return role.start()


def serve_once(data_dir: Path, port: int) -> subprocess.CompletedProcess[str]:
    """A serve expected to refuse: run to its end."""
    return subprocess.run(
        [ITINERA, "serve", "--port", str(port), "--data-dir", str(data_dir)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=EXIT_BOUND_SECONDS,
    )


def postmasters(pgdata: Path) -> list[psutil.Process]:
    """Live PostgreSQL servers of this data folder (a backend's command line no longer names
    it; a zombie is dead, merely not reaped)."""
    found = []
    for process in psutil.process_iter(["name", "cmdline", "status"]):
        if (
            process.info["name"] == "postgres"
            and process.info["status"] != psutil.STATUS_ZOMBIE
            and str(pgdata) in (process.info["cmdline"] or [])
        ):
            found.append(process)
    return found


def alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_one_serve_per_data_dir_and_no_postgres_outlives_kill_9_cycles(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    pgdata = (data_dir / "pgdata").resolve()
    server = serve(tmp_path, data_dir, port)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health/", server, timeout=60)
        assert server.process is not None
        second = serve_once(data_dir, free_port())
        assert second.returncode != 0
        said = (second.stdout + second.stderr).strip()
        assert "\n" not in said, said
        assert f"PID {server.process.pid}" in said and f"http://127.0.0.1:{port}" in said, said
        server.check_alive()  # the refusal left the running one alone

        for _ in range(3):
            [orphan] = postmasters(pgdata)
            server.kill()
            assert alive(orphan), "PostgreSQL is orphaned, not stopped, by a kill -9"
            server = serve(tmp_path, data_dir, port)
            wait_for_http(f"http://127.0.0.1:{port}/health/", server, timeout=60)
            assert len(postmasters(pgdata)) == 1  # the orphan was taken over, not doubled
        [last] = postmasters(pgdata)
    finally:
        server.stop()  # SIGTERM
    assert server.process is not None and server.process.returncode == 0, server.tail()
    assert not (pgdata / "postmaster.pid").exists(), "PostgreSQL outlived serve"
    assert not postmasters(pgdata) and not alive(last), "PostgreSQL outlived serve"


def test_serve_exits_non_zero_when_its_postgres_dies_and_starts_again(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    pgdata = (data_dir / "pgdata").resolve()
    server = serve(tmp_path, data_dir, port)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health/", server, timeout=60)
        [postmaster] = postmasters(pgdata)
        postmaster.kill()
        assert server.process is not None
        code = server.process.wait(timeout=EXIT_BOUND_SECONDS)
    finally:
        server.stop()
    assert code != 0, server.tail()
    assert f"the embedded PostgreSQL (PID {postmaster.pid}) died" in server.tail(200)

    # The operator's next move, restarting it, works: the dead server's traces are cleared.
    server = serve(tmp_path, data_dir, port)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health/", server, timeout=60)
    finally:
        server.stop()
    assert server.process is not None and server.process.returncode == 0, server.tail()
    assert not postmasters(pgdata)


def test_serve_refuses_a_taken_port_before_starting_or_migrating_anything(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = serve_once(data_dir, port)
    assert refused.returncode != 0
    said = (refused.stdout + refused.stderr).strip()
    assert said == f"itinera: cannot listen on 127.0.0.1:{port} (Address already in use);" + (
        " stop what uses it, or pass another --port"
    ), said
    assert not (data_dir / "pgdata").exists()  # no database started, so none migrated
    assert not (data_dir / "keys").exists()
