"""What an operator watches on the API: `/metrics` in the Prometheus text format, whose key
series move when the matching action happens, and health per dependency, which answers in
bounded time when a dependency hangs and never shows an address. Real PostgreSQL and Redis;
a dependency that hangs is reached through a proxy the test stalls."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from anyio import to_thread
from fastapi.testclient import TestClient

from api.main import create_app
from infra.observability.health import check_now, database_probe
from infra.settings import Settings
from tests.e2e.proxy import CuttableProxy
from tests.integration.conftest import HEALTH_TIMEOUT, signup_on
from tests.scraped import Samples, parse, value
from tests.services import free_port
from tests.waiting import eventually

pytestmark = pytest.mark.integration

PROMTOOL = Path(__file__).parents[2] / ".cache" / "promtool" / "usr" / "bin" / "promtool"


def samples(client: TestClient) -> Samples:
    """Every sample of `/metrics`, parsed by Prometheus' own parser."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def test_key_series_move_with_the_actions_and_carry_no_ids(client: TestClient) -> None:
    before = samples(client)
    headers = signup_on(client)()
    trip = client.post(
        "/api/v1/trips/",
        json={"title": "Porto", "start_date": "2027-05-01", "end_date": "2027-05-03"},
        headers=headers,
    ).json()["data"]
    assert client.get(f"/api/v1/trips/{trip['id']}?min_version=1", headers=headers).is_success
    assert client.get(f"/api/v1/trips/{uuid_like()}", headers=headers).status_code == 404
    refused = client.post(
        "/api/v1/trips/", json={"title": "", "start_date": "2027-05-01"}, headers=headers
    )
    assert refused.status_code == 422
    for _ in range(7):  # past the per-account limit of failed logins
        client.post("/api/v1/auth/login", json={"login": "nobody", "password": "wrong horse"})
    push = client.post("/api/v1/sync/push", json={"client_id": "phone", "changes": []})
    assert push.status_code == 401
    pulled = client.post("/api/v1/sync/pull", json={"client_id": "phone"}, headers=headers)
    assert pulled.status_code == 200

    after = eventually(lambda: _projected(samples(client), before), timeout=20)
    detail = "/api/v1/trips/{trip_id}"
    assert (
        value(after, "itinera_http_requests_total", route=detail, method="GET", status="200") >= 1
    )
    assert (
        value(after, "itinera_http_requests_total", route=detail, method="GET", status="404") >= 1
    )
    assert (
        value(after, "itinera_http_request_duration_seconds_count", route=detail, method="GET") >= 2
    )
    assert delta(before, after, "itinera_commands_total", command="create_trip", outcome="ok") == 1
    assert (
        delta(
            before,
            after,
            "itinera_commands_total",
            command="create_trip",
            outcome="validation_failed",
        )
        == 1
    )
    assert delta(before, after, "itinera_events_appended_total", event="Trip.Created") >= 1
    assert delta(before, after, "itinera_rate_limit_refusals_total", limit="login_account") >= 1
    assert delta(before, after, "itinera_sync_pulls_total") == 1
    assert value(after, "itinera_db_pool_connections", pool="read", state="size") >= 1
    # Bounded labels: no id of a trip or a user is ever a label value.
    labels = {v for (_, pairs) in after for (_, v) in pairs}
    assert trip["id"] not in labels and not any(len(v) == 36 and v.count("-") == 4 for v in labels)


def test_promtool_accepts_the_metrics_text(client: TestClient) -> None:
    """Prometheus' own linter (names, units, help, types) on what a busy API exports."""
    promtool = shutil.which("promtool") or str(PROMTOOL)
    if not Path(promtool).exists():
        pytest.skip("promtool is not installed (scripts/test unpacks it into .cache/promtool)")
    headers = signup_on(client)()
    client.post(
        "/api/v1/trips/", json={"title": "Vigo", "start_date": "2027-05-01"}, headers=headers
    )
    text = client.get("/metrics").text
    assert "itinera_commands_total" in text
    linted = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


def _projected(found: Samples, before: Samples) -> Samples:
    """Once trip_views applied the new events and its sampled lag (every few seconds, from
    the head reported once a second) came back to 0."""
    assert delta(before, found, "itinera_projection_events_applied_total", projection="trip_views")
    assert value(found, "itinera_projection_lag_events", projection="trip_views") == 0
    return found


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def uuid_like() -> str:
    return "00000000-0000-4000-8000-000000000001"


def test_health_answers_per_dependency(client: TestClient) -> None:
    assert client.get("/health/").json()["data"] == {"status": "ok"}
    ready = client.get("/health/ready/")
    assert ready.status_code == 200
    checks = ready.json()["data"]["checks"]
    assert set(checks) == {"database", "redis"}
    assert all(c["status"] == "ok" for c in checks.values())
    assert client.get("/health/db/").json()["data"]["checks"]["database"]["status"] == "ok"
    assert client.get("/health/redis/").json()["data"]["checks"]["redis"]["status"] == "ok"
    kafka = client.get("/health/kafka/")
    assert kafka.status_code == 404
    assert kafka.json()["error"]["code"] == "not_configured"


@pytest.mark.parametrize("outage", ["stall", "cut"])
def test_a_hanging_or_gone_dependency_is_down_in_bounded_time_and_named(
    through_proxy: TestClient, redis_proxy: CuttableProxy, outage: str
) -> None:
    assert through_proxy.get("/health/ready").status_code == 200
    getattr(redis_proxy, outage)()

    started = time.monotonic()
    ready = through_proxy.get("/health/ready")
    took = time.monotonic() - started
    assert ready.status_code == 503
    body = ready.json()["data"]
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "down"
    assert body["checks"]["redis"]["reason"] in (
        {"timeout"} if outage == "stall" else {"timeout", "unreachable"}
    )
    # Within the health timeout, give or take scheduling: not Redis' own 30 s or forever.
    assert took < HEALTH_TIMEOUT + 3
    redis_alone = through_proxy.get("/health/redis")
    assert redis_alone.status_code == 503
    # Public: no address, port or error text of the dependency.
    for text in (ready.text, redis_alone.text):
        assert "127.0.0.1" not in text and str(redis_proxy.listen_port) not in text
    # Liveness does no I/O: still fine.
    assert through_proxy.get("/health").status_code == 200


def test_a_hanging_database_is_down_in_bounded_time(database_url: str) -> None:
    """The database probe against a real PostgreSQL reached through a proxy that stops
    answering: down with `timeout` within the bound, up again once it answers."""
    db_port = urlsplit(database_url).port or 5432
    proxy = CuttableProxy(free_port(), db_port)
    proxied = database_url.replace(f":{db_port}/", f":{proxy.listen_port}/")
    assert proxied != database_url
    probes = {"database": database_probe(proxied, HEALTH_TIMEOUT)}
    try:
        assert check_now(probes, HEALTH_TIMEOUT)[0].ok
        proxy.stall()
        started = time.monotonic()
        [down] = check_now(probes, HEALTH_TIMEOUT)
        assert time.monotonic() - started < HEALTH_TIMEOUT + 3
        assert (down.ok, down.reason) == (False, "timeout")
        assert down.public() == {
            "status": "down",
            "seconds": down.public()["seconds"],
            "reason": "timeout",
        }
        proxy.unstall()
        assert eventually(lambda: _up(probes), timeout=15)
    finally:
        proxy.unstall()
        proxy.close()


def _up(probes: dict[str, Any]) -> bool:
    assert check_now(probes, HEALTH_TIMEOUT)[0].ok
    return True


def test_blocking_work_runs_on_as_many_threads_as_set(api_settings: Settings) -> None:
    settings = api_settings.model_copy(update={"command_threads": 3})
    with TestClient(create_app(settings)) as client:
        assert client.portal is not None
        limit = client.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens)
    assert limit == 3
