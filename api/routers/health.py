"""Health and metrics, public by design (an orchestrator's probes and Prometheus carry no
token): what they answer names no host, address or secret."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.deps import AppContainer
from api.envelope import error, ok
from api.health_schemas import LiveBody, ProjectionsHealthBody, ReadinessBody
from api.openapi import errors, success
from infra.wiring import readiness_body, render_metrics

router = APIRouter(tags=["health"])

READY = success(ReadinessBody, "data: each dependency's check")
# 503 answers the same envelope (not an error): data.status `unavailable` names who is down.
DOWN: dict[int | str, dict[str, Any]] = {
    **READY,
    503: {
        **READY[200],
        "description": "The dependency is down or did not answer in time "
        "(same body, data.status: unavailable)",
    },
}
NOT_CONFIGURED = errors({404: "not_configured: this deployment does not use the dependency"})
PROJECTIONS = success(ProjectionsHealthBody, "data: each read model's lag and status")


@router.get("/health", responses=success(LiveBody))
async def health(request: Request) -> JSONResponse:
    """Liveness: the process answers (no I/O)."""
    return ok(request, {"status": "ok"})


@router.get("/health/ready", responses=DOWN)
async def ready(request: Request, container: AppContainer) -> JSONResponse:
    """Readiness: every dependency this API needs (PostgreSQL; Redis when configured)
    answers, each within ITINERA_HEALTH_TIMEOUT_SECONDS; 503 names the one that did not."""
    status, body = readiness_body(await container.health("database", "redis"))
    return ok(request, body, status_code=status)


async def _one(request: Request, container: AppContainer, name: str, label: str) -> JSONResponse:
    checks = await container.health(name)
    if not checks:
        return error(request, 404, "not_configured", f"{label} is not configured here")
    status, body = readiness_body(checks)
    return ok(request, body, status_code=status)


@router.get("/health/db", responses=DOWN)
async def database(request: Request, container: AppContainer) -> JSONResponse:
    """PostgreSQL answers a query within the health timeout."""
    return await _one(request, container, "database", "PostgreSQL")


@router.get("/health/redis", responses={**DOWN, **NOT_CONFIGURED})
async def redis(request: Request, container: AppContainer) -> JSONResponse:
    """Redis answers a PING within the health timeout (404 when ITINERA_REDIS_URL is unset)."""
    return await _one(request, container, "redis", "Redis")


@router.get("/health/kafka", responses={**DOWN, **NOT_CONFIGURED})
async def kafka(request: Request, container: AppContainer) -> JSONResponse:
    """The Kafka cluster answers a metadata request within the health timeout (404 unless
    ITINERA_KAFKA_BOOTSTRAP_SERVERS is set)."""
    return await _one(request, container, "kafka", "Kafka")


@router.get(
    "/health/projections",
    responses={
        **PROJECTIONS,
        503: {**PROJECTIONS[200], "description": "A projection is stalled (same body)"},
    },
)
async def projections(request: Request, container: AppContainer) -> JSONResponse:
    """Each read model's lag (events, seconds), parked aggregates and status (public: no
    ids); 503 when one is stalled (behind and making no progress)."""
    found = await container.projection_health()
    body = [
        {
            "name": h.name,
            "status": h.status,
            "version": h.version,
            "built_version": h.built_version,
            "lag_events": h.lag_events,
            "lag_seconds": h.lag_seconds,
            "parked": h.parked,
            "dead_letters": h.dead_letters,
        }
        for h in found
    ]
    stalled = any(h.stalled for h in found)
    status = (
        "stalled" if stalled else ("degraded" if any(h.status != "ok" for h in found) else "ok")
    )
    return ok(request, {"status": status, "projections": body}, status_code=503 if stalled else 200)


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics() -> Response:
    """This process's series in the Prometheus text format (every worker's, with
    `itinera api --workers N`)."""
    body, content_type = render_metrics()
    return Response(body, media_type=content_type)
