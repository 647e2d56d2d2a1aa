"""What an operator sees of distributed mode, with every role a real process: one trace from
a command through the relay to its projection, exported over OTLP/HTTP to a fake collector;
`/metrics` of the api, relay, worker and planner, parsed by Prometheus' parser, whose series
move with the work; and each role's readiness over its dependencies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.processes import Role, signup, wait_for_http
from tests.e2e.stack import Stack, distributed_stack
from tests.fake_otlp import FakeCollector, ReceivedSpan, fake_collector
from tests.scraped import Samples, parse, value
from tests.services import free_port, tansu_broker
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

SERVER, PRODUCER, CONSUMER = 2, 4, 5  # OTLP span kinds
CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
LIVENESS = {"route": "/health", "method": "GET", "status": "200"}


@pytest.fixture(scope="module")
def collector() -> Iterator[FakeCollector]:
    with fake_collector() as found:
        yield found


@pytest.fixture(scope="module")
def stack(
    postgres_admin_url: str, redis_url: str, tmp_path_factory: Any, collector: FakeCollector
) -> Iterator[Stack]:
    env = {
        "ITINERA_OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # export within a tenth of a second
        "ITINERA_LLM_API_KEY": "",  # the offline scheduler makes drafts
    }
    with (
        tansu_broker() as kafka_bootstrap,
        distributed_stack(
            postgres_admin_url,
            kafka_bootstrap,
            redis_url,
            tmp_path_factory,
            partitions=2,
            planner=True,
            extra_env=env,
            metrics_ports=True,
        ) as running,
    ):
        yield running


@pytest.fixture(scope="module")
def client(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        yield http


def new_trip(client: httpx.Client, headers: dict[str, str]) -> dict[str, Any]:
    body = {"title": "Bologna", "start_date": "2027-06-01", "end_date": "2027-06-04"}
    created = client.post("/api/v1/trips/", json=body, headers=headers)
    assert created.status_code == 201, created.text
    trip: dict[str, Any] = created.json()["data"]
    return trip


def spans_of(collector: FakeCollector, trace_id: str) -> list[ReceivedSpan]:
    return [s for s in collector.received() if s.trace_id == trace_id]


def test_one_trace_runs_from_the_command_through_the_relay_to_the_projection(
    stack: Stack, client: httpx.Client, collector: FakeCollector
) -> None:
    headers = signup(client)
    parent = f"00-{CLIENT_TRACE}-00f067aa0ba902b7-01"  # the client's own trace
    body = {"title": "Ravenna", "start_date": "2027-06-01", "end_date": "2027-06-02"}
    created = client.post("/api/v1/trips/", json=body, headers={**headers, "traceparent": parent})
    assert created.status_code == 201, created.text

    def whole_trace() -> dict[str, ReceivedSpan]:
        found = spans_of(collector, CLIENT_TRACE)
        server = [s for s in found if s.service == "itinera-api" and s.kind == SERVER]
        publish = [s for s in found if s.service == "itinera-relay" and s.kind == PRODUCER]
        project = [
            s for s in found if s.service == "itinera-worker" and s.name == "project trip_views"
        ]
        assert server and publish and project, sorted((s.service, s.name) for s in found)
        return {"server": server[0], "publish": publish[0], "project": project[0]}

    trace = eventually(whole_trace, timeout=30)
    # The chain of parents: the client's span → the API's server span → ... → the publish
    # span → the projection's span, all in the client's trace.
    assert trace["server"].parent_span_id == "00f067aa0ba902b7"
    assert trace["publish"].name == "trip-events publish"
    assert trace["project"].parent_span_id == trace["publish"].span_id
    assert trace["project"].kind == CONSUMER
    assert trace["project"].attributes["itinera.projection"] == "trip_views"
    # PostgreSQL calls of the request are spans of the same trace.
    assert any(
        s.service == "itinera-api" and s.attributes.get("db.system") == "postgresql"
        for s in spans_of(collector, CLIENT_TRACE)
    )


def test_a_request_without_a_trace_starts_one_that_reaches_the_projection(
    stack: Stack, client: httpx.Client, collector: FakeCollector
) -> None:
    new_trip(client, signup(client))

    def projected() -> None:
        found = collector.received()
        requests = {s.trace_id for s in found if s.service == "itinera-api" and s.kind == SERVER}
        projections = {s.trace_id for s in found if s.name == "project trip_views"}
        assert (requests & projections) - {CLIENT_TRACE}

    eventually(projected, timeout=30)


def scrape(url: str) -> Samples:
    response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    return parse(response.text)


def test_every_role_serves_metrics_that_move_with_the_work(
    stack: Stack, client: httpx.Client
) -> None:
    headers = signup(client)
    trip = new_trip(client, headers)
    asked = client.post(f"/api/v1/trips/{trip['id']}/itinerary-drafts/", json={}, headers=headers)
    assert asked.status_code == 202, asked.text

    def moved() -> None:
        relay = scrape(stack.metrics_urls["relay"])
        assert value(relay, "itinera_relay_published_events_total") >= 2
        assert value(relay, "itinera_relay_batch_size_count") >= 1
        worker = scrape(stack.metrics_urls["worker"])
        applied = "itinera_projection_events_applied_total"
        assert value(worker, applied, projection="trip_views") >= 1
        assert value(worker, "itinera_projection_lag_events", projection="trip_views") == 0
        planner = scrape(stack.metrics_urls["planner"])
        assert value(planner, "itinera_planner_jobs_total", outcome="ready") >= 1
        assert value(planner, "itinera_events_appended_total", event="ItineraryDraft.Completed")

    eventually(moved, timeout=60)
    api = scrape(stack.base_url)
    assert value(api, "itinera_commands_total", command="create_trip", outcome="ok") >= 1
    assert value(api, "itinera_events_appended_total", event="Trip.Created") >= 1


def test_every_role_answers_health_and_readiness(stack: Stack) -> None:
    for name, url in stack.metrics_urls.items():
        assert httpx.get(f"{url}/health/", timeout=10).json() == {"status": "ok"}, name
        ready = httpx.get(f"{url}/health/ready/", timeout=10)
        assert ready.status_code == 200, (name, ready.text)
        checks = ready.json()["checks"]
        assert set(checks) == {"database", "redis", "kafka"}, name
        assert all(c["status"] == "ok" for c in checks.values()), (name, checks)
    api = httpx.get(f"{stack.base_url}/health/kafka/", timeout=10)
    assert api.status_code == 200 and api.json()["data"]["checks"]["kafka"]["status"] == "ok"


def test_api_with_several_workers_sums_every_worker_in_one_metrics(
    stack: Stack, tmp_path: Path
) -> None:
    port = free_port()
    api = Role("api-workers", ["api", "--port", str(port), "--workers", "2"], stack.env, tmp_path)
    api.start()
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/health", api)
        with httpx.Client(base_url=url, timeout=10) as client:
            before = value(scrape(url), "itinera_http_requests_total", **LIVENESS)
            for _ in range(40):  # new connections: both workers answer some
                assert httpx.get(f"{url}/health/", timeout=10).status_code == 200
            after = value(scrape(url), "itinera_http_requests_total", **LIVENESS)
            assert client.get("/health/ready/").status_code == 200
        assert after - before == 40  # every answer counted once, whichever worker gave it
    finally:
        api.stop()
