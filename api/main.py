"""The FastAPI application factory (`uvicorn --factory api.main:create_served_app`)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import FastAPI

from api.errors import install_error_handlers
from api.media import mount_media
from api.middleware import (
    BodySizeLimitMiddleware,
    CorrelationIdMiddleware,
    TrailingSlashMiddleware,
)
from api.open_sockets import GOING_AWAY_STATE_KEY, OpenSockets
from api.request_metrics import RequestMetricsMiddleware
from api.routers import (
    activities,
    analytics,
    auth,
    avatars,
    chat,
    chat_socket,
    destinations,
    health,
    itinerary_drafts,
    members,
    notification_socket,
    notifications,
    recommendations,
    sync,
    trips,
    users,
    well_known,
)
from infra.wiring import Settings, api_container, configure_logging_once, instrument_app


def create_app(settings: Settings | None = None, *, settle_heap: bool = False) -> FastAPI:
    """The app; with `settle_heap`, what its start built is left out of the cyclic garbage
    collector's full passes once it started (see `create_served_app`)."""
    settings = settings or Settings()
    configure_logging_once(settings, role="api")  # a worker process of `api --workers N`

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        # Commands (and the event store's reads) run in threads, which share one interpreter
        # lock with the event loop: a few at a time; the rest wait in the loop, cheaply.
        to_thread.current_default_thread_limiter().total_tokens = settings.command_threads
        async with api_container(settings) as container:
            app.state.container = container
            app.state.open_sockets = sockets = OpenSockets()
            if settle_heap:
                gc.freeze()
            # In the lifespan state, the server finds what to do as its shutdown begins.
            yield {GOING_AWAY_STATE_KEY: sockets.going_away}

    app = FastAPI(
        title="Itinera",
        version="0.1.0",
        summary="Collaborative trip planning, event-sourced.",
        lifespan=lifespan,
        # Spans and metrics are ours (infra.observability: the OpenTelemetry instrumentor,
        # Prometheus); FastAPI's own would look up the global providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    # A request is matched against the routes in the order they were included, each a
    # regular expression (FastAPI even walks an included router twice): the busiest routes go
    # first, so a probe or a trip read does not pay for a hundred routes it is not. No two
    # routers share a path, so the order changes nothing else.
    app.include_router(health.router)
    routers = (
        trips.router,
        destinations.router,
        activities.router,
        members.router,
        chat.router,
        notifications.router,
        sync.router,
        users.router,
        auth.router,
        avatars.router,
        analytics.router,
        recommendations.router,
        itinerary_drafts.router,
    )
    for router in routers:
        app.include_router(router, prefix="/api/v1")
    app.include_router(chat_socket.router)
    app.include_router(notification_socket.router)
    app.include_router(well_known.router)
    mount_media(app, settings)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        larger={
            "/api/v1/sync/push": settings.sync_max_body_bytes,
            "/api/v1/users/me/avatar": settings.avatar_max_bytes + avatars.MULTIPART_OVERHEAD,
        },
    )
    app.add_middleware(CorrelationIdMiddleware)
    # Inside the trailing-slash middleware, which copies the scope: this one must see the
    # route the router records in it.
    app.add_middleware(RequestMetricsMiddleware)
    app.add_middleware(TrailingSlashMiddleware)
    instrument_app(app, settings, role="api")
    return app


def create_served_app() -> FastAPI:
    """The app as `itinera api` and `itinera serve` run it: once started, the objects its
    start built (modules, settings, pools, the container: about 275,000) are frozen out of
    the garbage collector's full passes, which walked them all each time. Under a closed loop
    of GETs on a slow machine, a full pass took 130 to 180 ms, several times in 10 s, and set
    the p99; frozen, 9 passes took 9 ms in all. They live as long as the process anyway. (Not
    in `create_app`: a test process creates many apps and would keep each one's cycles.)"""
    return create_app(settle_heap=True)
