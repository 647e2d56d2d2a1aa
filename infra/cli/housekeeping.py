"""`itinera housekeeping`: purge expired rows now (the worker and `serve` do it every
ITINERA_HOUSEKEEPING_SECONDS)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from infra.cli.app import cli, database


@cli.command()
def housekeeping(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Embedded mode's data directory (default ITINERA_DATA_DIR or .itinera); "
            "not used when ITINERA_DATABASE_URL is set."
        ),
    ] = None,
) -> None:
    """Purge expired rows (revoked tokens and refresh families past their expiry, draft cache
    entries older than ITINERA_PLANNER_CACHE_SECONDS) and print how many went, per table."""
    from infra.database import prepare_database
    from infra.postgres.housekeeping import purge_now

    with database(data_dir) as settings:
        prepare_database(settings)
        report = asyncio.run(purge_now(settings))
    if not report.ran:
        typer.echo("another purge is running (a worker or serve): nothing done")
        return
    width = max(len(table) for table in report.purged)
    for table, count in report.purged.items():
        typer.echo(f"{table:<{width}}  {count:>9,}")
    typer.echo(f"{'total':<{width}}  {report.total:>9,}  ({report.seconds:.2f} s)")
