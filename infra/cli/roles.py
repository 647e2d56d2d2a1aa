"""The roles: `serve` (everything, embedded), and `api`, `relay`, `worker`, `planner`,
`migrate` for distributed mode; and how every role stops.

On SIGTERM (or Ctrl+C) a role finishes what it holds (requests, WebSockets, the relay's or
the projector's batch, the planner's jobs) within `shutdown_grace_seconds`, then exits 0.
When the grace runs out it stops what it still holds and exits GRACE_EXCEEDED_EXIT_CODE:
what was cut short is done again after the restart (every hop is at-least-once). The relay,
worker and planner also end at once, with that code, if their own stopping hangs
(TEARDOWN_SECONDS after the grace; the relay at the grace itself, as its batch cannot be
abandoned half-way any other way).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import tempfile
import threading
import time
from types import FrameType
from typing import Annotated

import typer
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from infra.cli.app import cli, fail, load_settings
from infra.settings import Settings

log = logging.getLogger(__name__)

APP_FACTORY = "api.main:create_served_app"
# sysexits' EX_TEMPFAIL: the role stopped with work unfinished, which its next start redoes.
GRACE_EXCEEDED_EXIT_CODE = 75
TEARDOWN_SECONDS = 5.0  # after the grace, for a role to close its connections
# The app's lifespan state holds, under this key, what to await as soon as a shutdown begins
# (api/open_sockets.py: close every WebSocket with 1001). A name, not an import: infra does
# not import api.
GOING_AWAY_STATE_KEY = "going_away"


def stop_anyway_after(seconds: float) -> None:
    """The last resort of a stopping role: if the process still runs `seconds` from now, say
    so and exit at once with GRACE_EXCEEDED_EXIT_CODE. Nothing else runs then, as after a
    kill; the role never acknowledged what it had not finished, so nothing is lost."""

    def expire() -> None:
        log.error("still stopping %.1f s after the signal: exiting now", seconds)
        os._exit(GRACE_EXCEEDED_EXIT_CODE)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


class DrainingServer(uvicorn.Server):
    """uvicorn's server, stopping as a role should on SIGTERM or Ctrl+C.

    uvicorn refuses new connections, lets in-flight requests finish (up to
    `timeout_graceful_shutdown`) and only then runs the app's lifespan shutdown; but it drops
    the WebSockets still open at once, with close code 1012 (service restart). This server
    first refuses new connections and awaits the app's going-away hook (its WebSockets are
    closed with 1001, going away), then lets uvicorn drain the requests in what remains of
    the grace. `drained` says whether they all finished in it.

    It does not raise the signal again once stopped, as uvicorn does for programs that embed
    it (the process would die of the signal, status 143): the command exits 0 when drained,
    GRACE_EXCEEDED_EXIT_CODE when not.
    """

    def __init__(self, config: uvicorn.Config, grace: float) -> None:
        super().__init__(config)
        self.grace = grace
        self.drained = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        deadline = time.monotonic() + self.grace
        for server in self.servers:
            server.close()  # new connections are refused from now on
        going_away = self.lifespan.state.get(GOING_AWAY_STATE_KEY)
        if going_away is not None:
            try:
                await asyncio.wait_for(going_away(), self.grace)
            except TimeoutError:
                log.warning("WebSockets still open after the grace; uvicorn drops them")
        # uvicorn hands this to asyncio.wait_for, which takes seconds as a float.
        remaining = max(0.0, deadline - time.monotonic())
        self.config.timeout_graceful_shutdown = remaining  # type: ignore[assignment]
        await super().shutdown(sockets)

    async def _wait_tasks_to_complete(self) -> None:
        # Cancelled by uvicorn when the grace runs out: then `drained` stays False.
        await super()._wait_tasks_to_complete()
        self.drained = not self.force_exit


def serve_api(host: str, port: int, workers: int = 1) -> None:
    """Run the API until SIGTERM or Ctrl+C, then drain it (see DrainingServer).

    With `workers` > 1, uvicorn's supervisor runs one process per worker and forwards the
    signal to each; each drains its in-flight requests within the grace, but runs uvicorn's
    own server: its WebSockets are closed with 1012, and the supervisor exits 0 whether or
    not the grace ran out."""
    settings = load_settings()
    grace = settings.shutdown_grace_seconds
    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=None,  # uvicorn's loggers propagate to ours (infra.observability.logs)
        access_log=settings.access_log,
        ws_ping_interval=settings.ws_ping_seconds,  # a peer that stops answering is dropped
        ws_ping_timeout=settings.ws_ping_seconds,
        ws_per_message_deflate=False,  # chat messages are small: not worth the CPU
        # Whole seconds for uvicorn's own server (the workers of `--workers N`).
        timeout_graceful_shutdown=math.ceil(grace),
    )
    if workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    server = DrainingServer(config, grace)
    server.run()
    if not server.started:
        raise typer.Exit(STARTUP_FAILURE)
    if not server.drained:
        log.error("the grace of %.1f s ran out: requests still running were cut short", grace)
        raise typer.Exit(GRACE_EXCEEDED_EXIT_CODE)


def check_topics(settings: Settings) -> None:
    """Exit with a one-line reason when a topic's partition count is not the configured one."""
    from infra.kafka import partition_counts
    from streams.topics import PartitionCountMismatchError, check_partition_counts

    try:
        check_partition_counts(
            settings.topic_partitions, partition_counts(settings.kafka_bootstrap_servers)
        )
    except PartitionCountMismatchError as error:
        raise fail(str(error)) from None


@cli.command()
def api(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """The HTTP API alone, against ITINERA_DATABASE_URL (distributed mode)."""
    from infra.database import prepare_database
    from infra.identity.keys import KeyFolderError, load_key_ring
    from infra.observability.exposition import MULTIPROCESS_DIR

    settings = load_settings()
    if workers > 1 and not settings.redis_url:
        raise fail(
            f"--workers {workers} needs ITINERA_REDIS_URL: without it each worker counts rate"
            " limits on its own, and every limit would be multiplied by the worker count"
        )
    try:
        load_key_ring(settings.keys_folder)
    except KeyFolderError as error:
        raise fail(str(error)) from None
    prepare_database(settings)
    if workers == 1:
        serve_api(host, port, workers)
        return
    # One /metrics for all the worker processes: each writes its series into this folder
    # (prometheus-client's multiprocess mode), and any of them sums the folder when scraped.
    with tempfile.TemporaryDirectory(prefix="itinera-metrics-") as folder:
        os.environ[MULTIPROCESS_DIR] = folder
        serve_api(host, port, workers)


@cli.command()
def migrate() -> None:
    """Create the event store tables, apply migrations, create the projections' tables."""
    from infra.database import prepare_database

    prepare_database(load_settings())
    typer.echo("database ready")
