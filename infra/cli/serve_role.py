"""`itinera serve`: everything in one process (embedded mode)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from infra.cli.app import cli, fail, load_settings
from infra.cli.roles import serve_api
from infra.settings import Settings

log = logging.getLogger(__name__)

DATABASE_DIED_EXIT_CODE = 1


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data_dir: Annotated[
        Path | None, typer.Option(help="Embedded PostgreSQL's data (default .itinera).")
    ] = None,
) -> None:
    """Everything in one process: embedded PostgreSQL, the API and in-process projections."""
    from infra.database import prepare_database
    from infra.embedded_postgres import embedded_server
    from infra.identity.keys import ensure_keys
    from infra.listen_check import CannotListenError, check_can_listen
    from infra.process_watchdog import ProcessWatchdog
    from infra.serve_lock import ServeAlreadyRunningError, serve_lock

    if data_dir is not None:
        os.environ["ITINERA_DATA_DIR"] = str(data_dir)  # the API process reads it too
    settings = load_settings()
    # uvicorn re-raises SIGTERM after its graceful shutdown; turn it into SystemExit so the
    # embedded PostgreSQL below is stopped rather than orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.ExitStack() as stack:
        # Both checks come before anything is started or migrated.
        try:
            stack.enter_context(serve_lock(settings.data_dir, f"http://{host}:{port}"))
            check_can_listen(host, port)
        except (ServeAlreadyRunningError, CannotListenError) as error:
            raise fail(str(error)) from None
        watchdog = None
        if not settings.database_url:
            database = stack.enter_context(embedded_server(settings.data_dir))
            os.environ["ITINERA_DATABASE_URL"] = database.url
            died = (
                f"the embedded PostgreSQL (PID {database.postmaster.pid}) died; stopping"
                f" (its log: {settings.data_dir.resolve() / 'pgdata' / 'log'})"
            )
            watchdog = ProcessWatchdog(database.is_running, on_death=lambda: _stop_serving(died))
        os.environ["ITINERA_PROJECT_IN_PROCESS"] = "true"
        ensure_keys(settings.keys_folder)
        prepare_database(Settings())
        typer.echo(f"Itinera is serving on http://{host}:{port} (API docs at /docs)")
        try:
            with watchdog or contextlib.nullcontext():
                serve_api(host, port)
        finally:
            if watchdog is not None and watchdog.tripped:
                raise typer.Exit(code=DATABASE_DIED_EXIT_CODE)


def _stop_serving(reason: str) -> None:
    """Say why, and stop the server the way SIGTERM does: uvicorn shuts down, then `serve`
    exits non-zero since the watchdog tripped."""
    log.error("%s", reason)
    os.kill(os.getpid(), signal.SIGTERM)
