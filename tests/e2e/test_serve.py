"""`itinera serve`: everything in one process, embedded PostgreSQL, nothing configured."""

from __future__ import annotations

import os
from pathlib import Path
from uuid import uuid4

import httpx

from tests.e2e.processes import Role, wait_for_http
from tests.services import free_port


def test_serve_answers_commands_and_queries_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITINERA_")}
    me = {"X-User-Id": str(uuid4())}
    base = f"http://127.0.0.1:{port}"

    def serve() -> Role:
        role = Role(
            "serve", ["serve", "--port", str(port), "--data-dir", str(data_dir)], {}, tmp_path
        )
        role.env = env
        return role.start()

    server = serve()
    try:
        wait_for_http(f"{base}/health", server, timeout=60)
        with httpx.Client(base_url=base, timeout=10) as client:
            created = client.post(
                "/api/v1/trips/",
                headers=me,
                json={"title": "Lisbon", "start_date": "2027-05-01", "end_date": "2027-05-05"},
            )
            assert created.status_code == 201, created.text
            trip_id = created.json()["data"]["id"]
            shown = client.get(f"/api/v1/trips/{trip_id}?min_version=1", headers=me)
            assert shown.status_code == 200, shown.text
            assert shown.json()["data"]["title"] == "Lisbon"
            assert shown.json()["meta"]["stale"] is False
    finally:
        server.stop()
    assert (data_dir / "pgdata" / "PG_VERSION").exists()
    assert not (data_dir / "pgdata" / "postmaster.pid").exists(), "PostgreSQL outlived serve"

    server = serve()
    try:
        wait_for_http(f"{base}/health", server, timeout=60)
        with httpx.Client(base_url=base, timeout=10) as client:
            listed = client.get("/api/v1/trips", headers=me)
        assert [t["title"] for t in listed.json()["data"]] == ["Lisbon"]
    finally:
        server.stop()
