"""The roles: `serve` (everything, embedded), and `api`, `relay`, `worker`, `planner`,
`migrate` for distributed mode."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from infra.cli.app import cli, fail, load_settings
from infra.settings import Settings

APP_FACTORY = "api.main:create_app"


def serve_api(host: str, port: int, workers: int = 1) -> None:
    ping = load_settings().ws_ping_seconds
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        ws_ping_interval=ping,  # a socket whose peer stops answering pings is closed
        ws_ping_timeout=ping,
        ws_per_message_deflate=False,  # chat messages are small: not worth the CPU
    )


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
    serve_api(host, port, workers)


@cli.command()
def migrate() -> None:
    """Create the event store tables, apply migrations, create the projections' tables."""
    from infra.database import prepare_database

    prepare_database(load_settings())
    typer.echo("database ready")
