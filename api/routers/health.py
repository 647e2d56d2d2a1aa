from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import AppContainer
from api.envelope import ok

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """Liveness: the process answers (public)."""
    return ok(request, {"status": "ok"})


@router.get(
    "/health/projections",
    responses={503: {"description": "A projection is stalled (same body)"}},
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
