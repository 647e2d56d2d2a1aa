"""`itinera serve`: everything in one process (embedded mode)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from infra.cli.app import cli, load_settings
from infra.cli.roles import serve_api
from infra.settings import Settings


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
    from infra.embedded_postgres import embedded_postgres
    from infra.identity.keys import ensure_keys

    if data_dir is not None:
        os.environ["ITINERA_DATA_DIR"] = str(data_dir)  # the API process reads it too
    settings = load_settings()
    # uvicorn re-raises SIGTERM after its graceful shutdown; turn it into SystemExit so the
    # embedded PostgreSQL below is stopped rather than orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.ExitStack() as stack:
        if not settings.database_url:
            url = stack.enter_context(embedded_postgres(settings.data_dir))
            os.environ["ITINERA_DATABASE_URL"] = url
        os.environ["ITINERA_PROJECT_IN_PROCESS"] = "true"
        ensure_keys(settings.keys_folder)
        prepare_database(Settings())
        typer.echo(f"Itinera is serving on http://{host}:{port} (API docs at /docs)")
        serve_api(host, port)
