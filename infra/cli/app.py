"""The `itinera` command's groups, and what every subcommand starts with."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import typer

from infra.cli.contracts import contracts_cli
from infra.observability.logs import DEFAULT_ROLE, configure_logging
from infra.settings import Settings

try:  # Typer from 0.2x on runs its commands in a copy of click of its own
    from typer._click.globals import get_current_context
except ImportError:  # an older Typer: click itself
    from click import get_current_context  # type: ignore[no-redef]

cli = typer.Typer(help="Itinera: collaborative trip planning, event-sourced.", no_args_is_help=True)
topics_cli = typer.Typer(help="Kafka topic provisioning.", no_args_is_help=True)
cli.add_typer(topics_cli, name="topics")
keys_cli = typer.Typer(help="RS256 signing keys (ITINERA_KEYS_DIR).", no_args_is_help=True)
cli.add_typer(keys_cli, name="keys")
dlq_cli = typer.Typer(help="Dead letters: events a projection parked.", no_args_is_help=True)
cli.add_typer(dlq_cli, name="dlq")
cli.add_typer(contracts_cli, name="contracts")
users_cli = typer.Typer(help="Accounts: operators.", no_args_is_help=True)
cli.add_typer(users_cli, name="users")


def load_settings(role: str | None = None) -> Settings:
    """The settings, with logging set up for this process: every line tagged with `role`,
    by default the invoked command without the program's name (`api`, `topics create`)."""
    settings = Settings()
    if role is None:
        invoked = get_current_context(silent=True)
        role = " ".join(invoked.command_path.split()[1:]) if invoked else ""
    configure_logging(settings, role or DEFAULT_ROLE)
    return settings


def fail(message: str) -> typer.Exit:
    """Print a one-line reason and return the exit to raise (code 2)."""
    typer.echo(f"itinera: {message}", err=True)
    return typer.Exit(code=2)


@contextlib.contextmanager
def database(data_dir: Path | None) -> Iterator[Settings]:
    """Settings pointing at the database to operate: ITINERA_DATABASE_URL, or embedded mode's
    PostgreSQL in the data directory (joined if `serve` runs, else started for the command
    and stopped after it)."""
    if data_dir is not None:
        os.environ["ITINERA_DATA_DIR"] = str(data_dir)
    settings = load_settings()
    if settings.database_url:
        yield settings
        return
    from infra.embedded_postgres import embedded_postgres

    with embedded_postgres(settings.data_dir) as url:
        # Embedded mode: its projections run in the `serve` process, with no Kafka.
        yield settings.model_copy(update={"database_url": url, "project_in_process": True})
