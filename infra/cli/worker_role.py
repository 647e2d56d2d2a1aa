"""`itinera worker`: the Faust projector (distributed mode)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from infra.cli.app import cli, load_settings
from infra.cli.roles import GRACE_EXCEEDED_EXIT_CODE, TEARDOWN_SECONDS, stop_anyway_after

if TYPE_CHECKING:
    from projections.faust_app import BatchesInHand


@cli.command()
def worker() -> None:
    """The Faust projector: consume domain topics, keep the read models current."""
    import asyncio
    from datetime import timedelta

    import faust

    from infra.database import build_event_store, open_read_pool, prepare_database
    from infra.engine_wiring import projection_engine, reminders
    from infra.kafka import KafkaFactPublisher
    from infra.live.services import live_services
    from infra.observability.logs import dict_config
    from infra.observability.recorders import sample_forever
    from infra.observability.roles import observe_role
    from infra.postgres.housekeeping import periodic_purge
    from infra.rebuild_jobs import tune_gc_for_throughput
    from infra.system_notices import SystemNotices
    from projections.catalogue import PROJECTIONS
    from projections.faust_app import BatchesInHand, WorkerConfig, WorkerRuntime, build_worker
    from streams.outbox import OutboxReader

    settings = load_settings()
    observe_role(settings, "worker")  # its endpoint lives as long as the process
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
        sampling = asyncio.create_task(
            sample_forever(
                {"read": pool},
                projections=(pool, timedelta(seconds=settings.projection_stall_seconds)),
            ),
            name="metrics-sampler",
        )
        opened.extend([engine, pool, events, live, facts, notices, sampling])
        await engine.report_parked()
        reminding = reminders(settings, pool, events, live)
        purging = periodic_purge(settings)  # due every ITINERA_HOUSEKEEPING_SECONDS
        return WorkerRuntime(projections=engine.live(), ticks=[reminding.tick, purging.tick])

    async def close_runtime() -> None:
        engine, pool, events, live, facts, notices, sampling = opened
        sampling.cancel()
        engine.close()
        facts.close()
        notices.close()
        await live.close()
        await pool.close()
        events.close()

    batches = BatchesInHand()
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
            shutdown_grace=settings.shutdown_grace_seconds,
        ),
        [(p.name, p.topics) for p in PROJECTIONS],
        open_runtime,
        close_runtime,
        batches,
        gather={p.name: p.gather_seconds for p in PROJECTIONS},
    )

    class GraceBoundWorker(faust.Worker):
        """Faust's worker, ended with GRACE_EXCEEDED_EXIT_CODE if its stop hangs."""

        async def on_stop(self) -> None:  # mode calls it first as the worker stops
            stop_anyway_after(settings.shutdown_grace_seconds + TEARDOWN_SECONDS)
            await super().on_stop()

    with exit_code_of(batches):
        GraceBoundWorker(
            app,
            loglevel=settings.log_level.lower(),
            # mode replaces the root logger's handlers as the worker starts: it is handed ours.
            # Redirected, sys.stderr would be a logger, and our handler writes to sys.stderr.
            logging_config=dict_config(settings, role="worker"),
            redirect_stdouts=False,
        ).execute_from_commandline()


@contextlib.contextmanager
def exit_code_of(batches: BatchesInHand) -> Iterator[None]:
    """Faust exits 0 from a stop; GRACE_EXCEEDED_EXIT_CODE instead when the grace ran out
    with batches still being applied."""
    try:
        yield
    except SystemExit as stopped:
        if stopped.code in (0, None) and batches.cut_short:
            raise SystemExit(GRACE_EXCEEDED_EXIT_CODE) from None
        raise
