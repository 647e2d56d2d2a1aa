"""The roles: `serve` (everything, embedded), and `api`, `relay`, `worker`, `planner`,
`migrate` for distributed mode."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn

from infra.cli.app import cli, fail, load_settings
from infra.settings import Settings

APP_FACTORY = "api.main:create_app"


def _serve_api(host: str, port: int, workers: int = 1) -> None:
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
        _serve_api(host, port)


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
    _serve_api(host, port, workers)


@cli.command()
def migrate() -> None:
    """Create the event store tables, apply migrations, create the projections' tables."""
    from infra.database import prepare_database

    prepare_database(load_settings())
    typer.echo("database ready")


@cli.command()
def relay() -> None:
    """Publish the event store's notification log to Kafka, in order, at least once."""
    from infra.database import build_event_store, prepare_database, require_database_url
    from infra.kafka import KafkaBatchPublisher
    from infra.postgres.notices import NewEventNotices
    from infra.postgres.ordered_recorder import notice_channel
    from infra.postgres.positions import PostgresPositionStore
    from infra.system_notices import SystemNotices
    from streams.outbox import OutboxReader
    from streams.pacing import Pacer
    from streams.relay import Relay

    settings = load_settings()
    check_topics(settings)
    prepare_database(settings)
    positions = PostgresPositionStore(require_database_url(settings))
    positions.wait_until_sole_relay()
    events = build_event_store(settings)
    publisher = KafkaBatchPublisher(settings.kafka_bootstrap_servers)
    notices = NewEventNotices(require_database_url(settings), notice_channel(events))
    system = SystemNotices(settings.kafka_bootstrap_servers)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        Relay(
            OutboxReader(events),
            publisher,
            positions,
            batch_size=settings.relay_batch_size,
            pacer=Pacer(slowest=settings.relay_poll_interval),
            new_events=notices,
            took_over=system.relay_took_over,
        ).run(stop)
    finally:
        system.close()
        notices.close()
        publisher.close()
        positions.close()
        events.close()


@cli.command()
def worker() -> None:
    """The Faust projector: consume domain topics, keep the read models current."""
    import faust

    from infra.database import build_event_store, open_read_pool, prepare_database
    from infra.engine_wiring import projection_engine, reminders
    from infra.kafka import KafkaFactPublisher
    from infra.live.services import live_services
    from infra.rebuild_jobs import tune_gc_for_throughput
    from infra.system_notices import SystemNotices
    from projections.catalogue import PROJECTIONS
    from projections.faust_app import WorkerConfig, WorkerRuntime, build_worker
    from streams.outbox import OutboxReader

    settings = load_settings()
    tune_gc_for_throughput()
    prepare_database(settings)
    faust_dir = settings.data_dir / "faust"
    faust_dir.mkdir(parents=True, exist_ok=True)  # Faust makes its own folder, not parents
    opened: list[Any] = []

    async def open_runtime() -> WorkerRuntime:
        events = build_event_store(settings)
        pool = await open_read_pool(settings)
        live = await live_services(settings)
        facts = KafkaFactPublisher(settings.kafka_bootstrap_servers)
        notices = SystemNotices(settings.kafka_bootstrap_servers)
        engine = projection_engine(
            settings, pool, events, OutboxReader(events), live, facts, notices
        )
        opened.extend([engine, pool, events, live, facts, notices])
        await engine.report_parked()
        reminding = reminders(settings, pool, events, live)
        return WorkerRuntime(projections=engine.live(), ticks=[reminding.tick])

    async def close_runtime() -> None:
        engine, pool, events, live, facts, notices = opened
        engine.close()
        facts.close()
        notices.close()
        await live.close()
        await pool.close()
        events.close()

    app = build_worker(
        WorkerConfig(
            app_id=settings.worker_app_id,
            broker=settings.kafka_bootstrap_servers,
            partitions=settings.topic_partitions,
            data_dir=str(faust_dir),
            fetch_max_wait_ms=settings.worker_fetch_max_wait_ms,
            batch_size=settings.projection_batch_size,
            batch_wait=settings.projection_batch_wait,
            tick_seconds=settings.reminder_check_seconds,
        ),
        [(p.name, p.topics) for p in PROJECTIONS],
        open_runtime,
        close_runtime,
    )
    faust.Worker(app, loglevel=settings.log_level.lower()).execute_from_commandline()


@cli.command()
def planner() -> None:
    """Run itinerary draft jobs: consume `planner-events` in a group, make each draft asked
    for (LLM or offline scheduler), commit only once its outcome is recorded."""
    import asyncio

    from kafka import KafkaConsumer
    from psycopg_pool import ConnectionPool

    from infra.database import (
        build_event_store,
        open_read_pool,
        prepare_database,
        require_database_url,
    )
    from infra.planner.consumer import PlannerConsumer
    from infra.planner.jobs_wiring import draft_jobs
    from infra.postgres.recommendation_store import recommendations

    settings = load_settings()
    check_topics(settings)
    prepare_database(settings)

    def consumer() -> KafkaConsumer:
        return KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=settings.planner_group_id,
            client_id="itinera-planner",
            enable_auto_commit=False,  # committed once the batch's jobs have their outcome
            auto_offset_reset="earliest",
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
            # A batch holds up to `planner_concurrency` jobs, each bounded by the model's
            # timeout and retries: poll again well within this.
            max_poll_interval_ms=int(
                max(300.0, 4 * settings.llm_timeout_seconds * (settings.llm_max_retries + 1)) * 1000
            ),
        )

    async def run() -> None:
        events = build_event_store(settings)
        pool = await open_read_pool(settings)
        sync_pool = ConnectionPool(
            require_database_url(settings), min_size=1, max_size=4, kwargs={"autocommit": True}
        )
        jobs = draft_jobs(settings, events, sync_pool, recommendations(settings, pool))
        role = PlannerConsumer(consumer, jobs, concurrency=settings.planner_concurrency)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, role.stopping.set)
        typer.echo(f"planner running ({jobs.model})")
        try:
            await role.run()
        finally:
            await jobs.close()
            await pool.close()
            sync_pool.close()
            events.close()

    asyncio.run(run())
