"""`itinera status`: one table of dependency health, the relay and every projection, run as
the operator runs it (a process) against a real, migrated PostgreSQL."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from infra.settings import Settings
from tests.e2e.processes import ITINERA
from tests.integration.conftest import prepared_settings
from tests.services import free_port

pytestmark = pytest.mark.integration


def status(settings: Settings, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ITINERA_DATABASE_URL": str(settings.database_url),
        "ITINERA_DATA_DIR": str(settings.data_dir),
        "ITINERA_LOG_FORMAT": "json",
        "COLUMNS": "160",
        **extra,
    }
    return subprocess.run(
        [ITINERA, "status"], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def rows(output: str) -> dict[str, str]:
    """First cell → the whole line, for each row of the table."""
    found = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) > 1 and cells[0]:
            found[cells[0]] = line
    return found


def test_status_shows_dependencies_relay_and_projections_in_one_table(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    settings = prepared_settings(database_url, redis_url, tmp_path)
    done = status(settings, ITINERA_REDIS_URL=redis_url)
    assert done.returncode == 0, done.stdout + done.stderr
    table = rows(done.stdout)
    assert "ok" in table["database"] and "ok" in table["redis"]
    assert "none has run here" in table["relay"]
    assert "trip_views" in table and "ok" in table["trip_views"]
    assert "kafka" not in table  # not configured: not a dependency here


def test_status_names_a_dependency_that_is_down_and_exits_1(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    settings = prepared_settings(database_url, redis_url, tmp_path)
    nothing_there = f"redis://127.0.0.1:{free_port()}/0"
    done = status(settings, ITINERA_REDIS_URL=nothing_there, ITINERA_HEALTH_TIMEOUT_SECONDS="1")
    assert done.returncode == 1, done.stdout + done.stderr
    table = rows(done.stdout)
    assert "down (unreachable)" in table["redis"]
    assert "ok" in table["database"]
