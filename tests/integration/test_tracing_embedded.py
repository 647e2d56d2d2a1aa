"""Embedded mode's one trace, read with the SDK's in-memory exporter: the request's server
span, the PostgreSQL calls it makes, and the projection of its events (driven from the event
store's log, with the context stored beside each event) share one trace id."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from api.main import create_app
from infra.observability.tracing import configure_tracing, shutdown_tracing
from infra.settings import Settings
from tests.integration.conftest import signup_on

pytestmark = pytest.mark.integration


@pytest.fixture
def exporter(api_settings: Settings) -> Iterator[InMemorySpanExporter]:
    exported = InMemorySpanExporter()
    provider = configure_tracing(api_settings, "serve", exporter=exported)
    assert provider is not None
    yield exported
    shutdown_tracing()


def spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    from opentelemetry import trace

    trace.get_tracer_provider().force_flush()  # type: ignore[attr-defined]
    return list(exporter.get_finished_spans())


def test_a_command_and_its_projection_share_a_trace(
    api_settings: Settings, exporter: InMemorySpanExporter
) -> None:
    with TestClient(create_app(api_settings), raise_server_exceptions=False) as client:
        headers = signup_on(client)()
        body = {"title": "Trieste", "start_date": "2027-07-01", "end_date": "2027-07-03"}
        created = client.post("/api/v1/trips/", json=body, headers=headers)
        assert created.status_code == 201, created.text
        trip_id = created.json()["data"]["id"]
        assert client.get(f"/api/v1/trips/{trip_id}?min_version=1", headers=headers).is_success

        deadline = time.monotonic() + 10
        while True:
            found = spans(exporter)
            servers = [s for s in found if s.kind == SpanKind.SERVER and "POST" in s.name]
            projected = [s for s in found if s.name == "project trip_views"]
            shared = {s.context.trace_id for s in servers} & {s.context.trace_id for s in projected}
            if shared or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    assert shared, sorted({s.name for s in found})
    [trace_id] = list(shared)[:1]
    in_trace = [s for s in found if s.context.trace_id == trace_id]
    project = next(s for s in in_trace if s.name == "project trip_views")
    assert project.kind == SpanKind.CONSUMER
    # Its parent is a span of the request (the context current when the events were stored).
    ids = {s.context.span_id for s in in_trace}
    assert project.parent is not None and project.parent.span_id in ids
    assert any((s.attributes or {}).get("db.system") == "postgresql" for s in in_trace)
