"""OpenTelemetry traces, off unless configured.

On when `ITINERA_OTEL_EXPORTER_OTLP_ENDPOINT` is set (OTLP over HTTP to that collector), or
when the standard variables ask for it (`OTEL_EXPORTER_OTLP_ENDPOINT`,
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_TRACES_EXPORTER=otlp|console`); the SDK reads the
other `OTEL_*` variables itself (service name, sampler, batch delays, headers).

One trace runs from a command to its projections: the API's server span is the parent of the
events it writes (their stored `traceparent`); the relay's publish span, a child of that,
travels in the Kafka `traceparent` header; each projection's apply span is a child of the
header (or, in embedded mode, of the stored context). HTTP (FastAPI), PostgreSQL (psycopg)
and Redis spans come from the OpenTelemetry instrumentations.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from infra.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from projections.engine.applier import Outcome
    from projections.engine.ports import Delivery
    from streams.outbox import OutboxMessage

log = logging.getLogger(__name__)

TRACER_NAME = "itinera"
# W3C trace context only: what the events store and the Kafka header carry.
_PROPAGATOR: TextMapPropagator = TraceContextTextMapPropagator()
_configured: TracerProvider | None = None
_configuring = threading.Lock()


def tracing_requested(settings: Settings) -> bool:
    env = os.environ
    return bool(
        settings.otel_exporter_otlp_endpoint
        or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or env.get("OTEL_TRACES_EXPORTER", "none").lower() in ("otlp", "console")
    )


def tracing_on() -> bool:
    return _configured is not None


def configure_tracing(
    settings: Settings, role: str, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """Set this process's tracer provider once (the first call wins), and instrument psycopg
    and Redis; None when tracing is not configured and no exporter is given."""
    global _configured
    with _configuring:
        if _configured is not None:
            return _configured
        if exporter is None:
            if not tracing_requested(settings):
                return None
            exporter = _exporter(settings)
        resource = Resource.create(
            {
                "service.name": os.environ.get("OTEL_SERVICE_NAME", f"itinera-{role}"),
                "service.namespace": "itinera",
            }
        )
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        _instrument_clients(provider)
        _configured = provider
        log.info("tracing on: spans of role %s exported", role)
        return provider


def shutdown_tracing() -> None:
    """Export what is left and stop tracing in this process (the instrumentations removed):
    for a process that ends otherwise than by exiting, such as a test run."""
    global _configured
    with _configuring:
        if _configured is None:
            return
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        _configured.shutdown()
        PsycopgInstrumentor().uninstrument()
        RedisInstrumentor().uninstrument()
        _configured = None


def _exporter(settings: Settings) -> SpanExporter:
    if os.environ.get("OTEL_TRACES_EXPORTER", "").lower() == "console":
        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = settings.otel_exporter_otlp_endpoint
    if endpoint is None:
        return OTLPSpanExporter()  # reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT itself
    endpoint = endpoint.rstrip("/")
    if not endpoint.endswith("/v1/traces"):
        endpoint += "/v1/traces"
    return OTLPSpanExporter(endpoint=endpoint)


def _instrument_clients(provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    PsycopgInstrumentor().instrument(tracer_provider=provider, skip_dep_check=True)
    RedisInstrumentor().instrument(tracer_provider=provider)


def instrument_app(app: FastAPI, settings: Settings, role: str) -> None:
    """Server spans for every HTTP request (health and metrics excluded), when tracing is
    configured."""
    provider = configure_tracing(settings, role)
    if provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls="/health.*,/metrics"
    )


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the span in progress (the request's), if tracing is on."""
    if _configured is None:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


class PublishSpans:
    """The relay's producer spans, one per traced message: a child of the context the event
    was stored with, and the parent its `traceparent` header now names."""

    def __init__(self, messages: Sequence[OutboxMessage]) -> None:
        self._spans: list[trace.Span] = []
        self.traceparents: list[str | None] = []
        tracer = trace.get_tracer(TRACER_NAME)
        for message in messages:
            parent = message.cause.traceparent
            if _configured is None or parent is None:
                self.traceparents.append(parent)
                continue
            span = tracer.start_span(
                f"{message.topic} publish",
                context=_PROPAGATOR.extract({"traceparent": parent}),
                kind=SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.operation.type": "publish",
                    "messaging.destination.name": message.topic,
                    "itinera.event_type": message.event.event_type,
                },
            )
            self._spans.append(span)
            carrier: dict[str, str] = {}
            _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
            self.traceparents.append(carrier.get("traceparent", parent))

    def end(self, error: BaseException | None = None) -> None:
        for span in self._spans:
            if error is not None:
                span.record_exception(error)
                span.set_status(trace.Status(trace.StatusCode.ERROR, type(error).__name__))
            span.end()


def projection_spans(
    projection: str, deliveries: Sequence[Delivery], outcome: Outcome, started_ns: int
) -> None:
    """One consumer span per trace a projection's batch carried, from the batch's start to
    now, a child of the context its messages were published with."""
    if _configured is None:
        return
    counts: dict[str, int] = {}
    for delivery in deliveries:
        if delivery.traceparent is not None:
            counts[delivery.traceparent] = counts.get(delivery.traceparent, 0) + 1
    tracer = trace.get_tracer(TRACER_NAME)
    for parent, events in counts.items():
        span = tracer.start_span(
            f"project {projection}",
            context=_PROPAGATOR.extract({"traceparent": parent}),
            kind=SpanKind.CONSUMER,
            start_time=started_ns,
            attributes={
                "messaging.operation.type": "process",
                "itinera.projection": projection,
                "itinera.events": events,
                "itinera.batch.applied": outcome.applied,
                "itinera.batch.parked": outcome.parked,
            },
        )
        span.end()
