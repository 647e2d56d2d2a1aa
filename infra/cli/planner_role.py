"""`itinera planner`: itinerary draft jobs from `planner-events` (distributed mode)."""

from __future__ import annotations

import logging
import signal

import typer

from infra.cli.app import cli, load_settings
from infra.cli.roles import (
    GRACE_EXCEEDED_EXIT_CODE,
    TEARDOWN_SECONDS,
    check_topics,
    stop_anyway_after,
)

log = logging.getLogger(__name__)


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
    from infra.observability.recorders import sample_forever
    from infra.observability.roles import observe_role
    from infra.planner.consumer import PlannerConsumer
    from infra.planner.jobs_wiring import draft_jobs
    from infra.postgres.recommendation_store import recommendations

    settings = load_settings()
    observe_role(settings, "planner")  # its endpoint lives as long as the process
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
        sampling = asyncio.create_task(sample_forever({"read": pool, "sync": sync_pool}))
        role = PlannerConsumer(consumer, jobs, concurrency=settings.planner_concurrency)
        running = asyncio.create_task(role.run())
        grace = settings.shutdown_grace_seconds

        def cut_short() -> None:
            if not running.done():
                log.error("the grace of %.1f s ran out: running jobs are left to the next", grace)
                running.cancel()

        def stop() -> None:
            """No new job; those running get the grace to reach their outcome."""
            if not role.stopping.is_set():
                log.info("stopping: no new job; running ones have %.1f s to finish", grace)
                role.stopping.set()
                loop.call_later(grace, cut_short)
                stop_anyway_after(grace + TEARDOWN_SECONDS)

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop)
        typer.echo(f"planner running ({jobs.model})")
        try:
            await asyncio.wait([running])  # however it ends
            if running.cancelled():
                raise typer.Exit(GRACE_EXCEEDED_EXIT_CODE)
            running.result()  # its error, if it failed
        finally:
            sampling.cancel()
            await jobs.close()
            await pool.close()
            sync_pool.close()
            events.close()

    asyncio.run(run())
