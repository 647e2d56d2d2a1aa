"""Starting the embedded PostgreSQL clears the socket lock file of a server that died and is
still a zombie (PostgreSQL takes the zombie for a running server and refuses to start), and
keeps one whose server runs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psutil

from infra.embedded_postgres import _strike_off_the_dead
from tests.waiting import eventually


def test_the_socket_lock_of_a_zombie_server_is_removed_and_a_live_ones_kept(
    tmp_path: Path,
) -> None:
    pgdata = tmp_path / "pgdata"
    pgdata.mkdir()
    killed = subprocess.Popen(["sleep", "60"])  # a postmaster killed and not yet reaped
    try:
        killed.kill()

        def zombie() -> None:
            assert psutil.Process(killed.pid).status() == psutil.STATUS_ZOMBIE

        eventually(zombie)
        dead_lock = pgdata / ".s.PGSQL.5432.lock"
        dead_lock.write_text(f"{killed.pid}\n{pgdata}\n")
        live_lock = pgdata / ".s.PGSQL.5433.lock"
        live_lock.write_text(f"{os.getpid()}\n{pgdata}\n")

        _strike_off_the_dead(pgdata)

        assert not dead_lock.exists()
        assert live_lock.exists()
    finally:
        killed.wait()
