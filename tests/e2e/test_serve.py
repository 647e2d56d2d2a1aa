"""`itinera serve`: everything in one process, embedded PostgreSQL, nothing configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from projections.trip_views import TRIP_VIEWS
from tests.e2e.chat_client import the_seeds_flow
from tests.e2e.processes import ITINERA, Role, signup, wait_for_http
from tests.services import free_port

# A verifier that shares nothing with Itinera but the JWKS URL (an analytics consumer, say).
JWKS_VERIFIER = """
import sys, jwt
jwks_url, token = sys.argv[1], sys.stdin.read().strip()
key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token)
claims = jwt.decode(token, key.key, algorithms=["RS256"], audience="itinera-api")
print(claims["sub"])
"""


def try_it(port: int, env: dict[str, str]) -> list[Any]:
    """Run the README's "Try it" block against this server (only its port changed); the JSON
    documents curl printed, in order."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    block = readme.split("## Try it", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    script = block.replace("localhost:8000", f"127.0.0.1:{port}")
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert ran.returncode == 0, ran.stderr
    documents, decoder, text = [], json.JSONDecoder(), ran.stdout.strip()
    while text:
        document, end = decoder.raw_decode(text)
        documents.append(document)
        text = text[end:].lstrip()
    assert all(d["error"] is None for d in documents), documents
    return documents


def test_serve_answers_commands_and_queries_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITINERA_")}
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
            me = signup(client)
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
            user_id = client.get("/api/v1/users/me", headers=me).json()["data"]["id"]
            the_seeds_flow(base, client, signup(client), signup(client))  # in-process fan-out
            synced = client.get("/api/v1/sync/pull/", headers=me).json()["data"]
            assert [t["title"] for t in synced["trips"]] == ["Lisbon"], synced
            cursor = synced["cursor"]

        verified = subprocess.run(
            [sys.executable, "-c", JWKS_VERIFIER, f"{base}/.well-known/jwks.json"],
            input=me["Authorization"].removeprefix("Bearer "),
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
        )
        assert verified.returncode == 0, verified.stderr
        assert verified.stdout.strip() == user_id

        shown_last = try_it(port, env)[-1]  # the README's block, as a newcomer pastes it
        assert shown_last["meta"]["stale"] is False
        assert [d["name"] for d in shown_last["data"]["destinations"]] == ["Kyoto"]
    finally:
        server.stop()
    assert (data_dir / "pgdata" / "PG_VERSION").exists()
    assert not (data_dir / "pgdata" / "postmaster.pid").exists(), "PostgreSQL outlived serve"
    assert list((data_dir / "keys").glob("*.pem")), "the first key pair is kept in the data dir"

    server = serve()
    try:
        wait_for_http(f"{base}/health", server, timeout=60)
        with httpx.Client(base_url=base, timeout=10) as client:
            listed = client.get("/api/v1/trips", headers=me)  # the token outlives the restart
            resumed = client.get("/api/v1/sync/pull/", params={"cursor": cursor}, headers=me)
        assert listed.status_code == 200, listed.text
        assert resumed.status_code == 200, resumed.text  # so does a sync cursor
        assert resumed.json()["data"]["trips"] == []
        assert [t["title"] for t in listed.json()["data"]] == ["Lisbon"]
    finally:
        server.stop()


def test_operators_rebuild_and_inspect_an_embedded_data_dir_with_serve_running_or_not(
    tmp_path: Path,
) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITINERA_")}
    base = f"http://127.0.0.1:{port}"

    def itinera(*args: str) -> str:
        done = subprocess.run(
            [ITINERA, *args, "--data-dir", str(data_dir)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    server = Role(
        "serve", ["serve", "--port", str(port), "--data-dir", str(data_dir)], {}, tmp_path
    )
    server.env = env
    server.start()
    try:
        wait_for_http(f"{base}/health", server, timeout=60)
        with httpx.Client(base_url=base, timeout=10) as client:
            me = signup(client)
            trip = client.post(
                "/api/v1/trips/",
                headers=me,
                json={"title": "Porto", "start_date": "2027-05-01", "end_date": "2027-05-05"},
            ).json()["data"]
            client.get(f"/api/v1/trips/{trip['id']}?min_version=1", headers=me)

            # With serve running: the rebuild joins its embedded PostgreSQL and swaps live.
            rebuilt = itinera("rebuild", "--all")
            assert f"trip_views: version {TRIP_VIEWS.version}, 1 events" in rebuilt
            assert "trip_views" in itinera("status") and "no dead letters" in itinera("dlq", "list")
            again = client.get(f"/api/v1/trips/{trip['id']}", headers=me)
            assert again.status_code == 200 and again.json()["data"]["title"] == "Porto"
            renamed = client.patch(
                f"/api/v1/trips/{trip['id']}", headers=me, json={"title": "Porto!"}
            ).json()["data"]
            shown = client.get(
                f"/api/v1/trips/{trip['id']}",
                params={"min_version": renamed["version"]},
                headers=me,
            )
            assert shown.json()["data"]["title"] == "Porto!"  # the live projector flows on
    finally:
        server.stop()

    # With serve stopped: the command starts the embedded PostgreSQL and stops it after.
    rebuilt = itinera("rebuild", "trip_views")
    assert f"trip_views: version {TRIP_VIEWS.version}, 2 events" in rebuilt
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()
