"""`itinera planner`: itinerary draft jobs from `planner-events` (distributed mode)."""

from __future__ import annotations

import signal

import typer

from infra.cli.app import cli, load_settings
from infra.cli.roles import check_topics


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
