"""Real role processes, with `ITINERA_LOG_FORMAT` unset and their output piped: every line
they write is one JSON object with timestamp, level and their role, including the lines of
uvicorn, Faust (mode) and kafka-python, and none carries a credential or an email."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.processes import ITINERA, PASSWORD, Role, signup, wait_for_http
from tests.e2e.stack import Stack, distributed_stack
from tests.services import as_url, free_port, fresh_database

pytestmark = pytest.mark.e2e

LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
TRIP = {"title": "Tromsø", "start_date": "2027-02-01", "end_date": "2027-02-04"}


@pytest.fixture
def unset_log_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """`auto`, as an operator who configured nothing gets: piped, so JSON."""
    monkeypatch.delenv("ITINERA_LOG_FORMAT", raising=False)
    monkeypatch.delenv("ITINERA_LOG_LEVEL", raising=False)


def json_lines(text: str, role: str) -> list[dict[str, Any]]:
    """Every line of `text` parsed; fails on the first that is not JSON with the fields."""
    parsed = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(f"{role}, line {number} is not JSON: {line!r}") from None
        assert isinstance(entry, dict), line
        assert list(entry)[:5] == ["timestamp", "level", "role", "logger", "message"], line
        assert entry["role"] == role and entry["level"] in LEVELS, line
        parsed.append(entry)
    return parsed


def test_migrate_writes_json_lines_on_standard_error(
    postgres_admin_url: str, unset_log_format: None
) -> None:
    with fresh_database(postgres_admin_url) as conninfo:
        done = subprocess.run(
            [ITINERA, "migrate"],
            env={**os.environ, "ITINERA_DATABASE_URL": as_url(conninfo)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "database ready\n"  # the command's answer, not a log line
    lines = json_lines(done.stderr, "migrate")
    assert any(line["message"].startswith("applied migration ") for line in lines), lines


@pytest.fixture
def stack(
    postgres_admin_url: str,
    kafka_bootstrap: str,
    redis_url: str,
    tmp_path_factory: Any,
    unset_log_format: None,
) -> Iterator[Stack]:
    with distributed_stack(postgres_admin_url, kafka_bootstrap, redis_url, tmp_path_factory) as s:
        yield s


def projected(stack: Stack, client: httpx.Client, trip_id: str, me: dict[str, str]) -> None:
    """Wait for the worker to have applied the trip: it has joined and consumed."""
    deadline = time.monotonic() + 60
    while True:
        for role in stack.roles():
            role.check_alive()
        shown = client.get(f"/api/v1/trips/{trip_id}", params={"min_version": 1}, headers=me)
        if shown.status_code == 200 and not shown.json()["meta"]["stale"]:
            return
        assert time.monotonic() < deadline, stack.worker.tail()
        time.sleep(0.2)


def test_every_role_writes_only_json_lines_with_its_role_and_no_secrets(stack: Stack) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        me = signup(client)
        token = me["Authorization"].removeprefix("Bearer ")
        trip = client.post("/api/v1/trips/", headers=me, json=TRIP)
        assert trip.status_code == 201, trip.text
        trip_id = trip.json()["data"]["id"]
        # A token in a query string reaches uvicorn's access log.
        assert client.get("/health/", params={"token": token}).status_code == 200
        projected(stack, client, trip_id, me)

    assert stack.logs is not None
    port = free_port()
    workers = Role(
        "api-workers", ["api", "--port", str(port), "--workers", "2"], stack.env, stack.logs
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", workers.start())
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            renamed = client.patch(f"/api/v1/trips/{trip_id}", headers=me, json={"title": "Alta"})
            assert renamed.status_code == 200, renamed.text
    finally:
        workers.stop()
    for role in stack.roles():
        role.stop()  # their last lines too: shutting down

    logs = {role.name: role.log_path.read_text("utf-8") for role in [*stack.roles(), workers]}
    api = json_lines(logs["api1"], "api")
    relay = json_lines(logs["relay"], "relay")
    worker = json_lines(logs["worker"], "worker")
    forked = json_lines(logs["api-workers"], "api")  # worker processes configure themselves

    loggers = {line["logger"] for line in api}
    assert {"uvicorn.error", "uvicorn.access", "itinera.commands"} <= loggers, loggers
    commands = [line for line in api if line["logger"] == "itinera.commands"]
    assert [(c["action"], c["entity"]) for c in commands] == [
        ("register", "user"),
        ("login", "user"),
        ("create", "trip"),
    ]
    created = commands[-1]
    assert created["action"] == "create" and created["entity"] == "trip"
    assert created["entity_id"] == created["trip_id"] == trip_id and created["version"] == 1
    assert created["actor"] and created["correlation_id"]
    assert any("token=[redacted]" in line["message"] for line in api), "no access line masked"
    assert any(line["logger"].startswith("streams.relay") for line in relay), relay
    assert any(line["logger"].startswith(("faust", "mode")) for line in worker), worker
    (renamed_line,) = [line for line in forked if line["logger"] == "itinera.commands"]
    assert renamed_line["version"] == 2
    started = [line for line in forked if line["message"].startswith("Started server process")]
    assert len(started) == 2, forked  # at INFO: each worker process set its logging up

    everything = "\n".join(logs.values())
    assert token not in everything
    assert PASSWORD not in everything
    assert "@example.org" not in everything


def test_the_check_fails_on_a_line_that_is_not_json() -> None:
    good = '{"timestamp": "t", "level": "INFO", "role": "api", "logger": "x", "message": "m"}'
    assert json_lines(good, "api")[0]["message"] == "m"
    with pytest.raises(AssertionError, match="line 2 is not JSON"):
        json_lines(f"{good}\nINFO:     Started server process [1]", "api")
    with pytest.raises(AssertionError):
        json_lines(good, "worker")
