"""Operating the projections: rebuild them, drain their dead letters, see their lag."""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from infra.cli.app import cli, database, dlq_cli, fail
from infra.engine_wiring import ProjectionEngine
from infra.settings import Settings

T = TypeVar("T")

DataDir = Annotated[
    Path | None,
    typer.Option(
        help="Embedded mode's data directory (default ITINERA_DATA_DIR or .itinera); "
        "not used when ITINERA_DATABASE_URL is set."
    ),
]
By = Annotated[str | None, typer.Option(help="Who does it (recorded; default: your login).")]


@asynccontextmanager
async def _engine(settings: Settings) -> AsyncIterator[ProjectionEngine]:
    from infra.database import build_event_store, open_read_pool
    from infra.engine_wiring import projection_engine
    from infra.kafka import KafkaFactPublisher
    from infra.system_notices import SystemNotices
    from streams.outbox import OutboxReader

    events = build_event_store(settings)
    pool = await open_read_pool(settings)
    # Distributed mode: events retried from the dead letters publish their analytics facts.
    distributed = not settings.project_in_process and settings.kafka_configured
    facts = KafkaFactPublisher(settings.kafka_bootstrap_servers) if distributed else None
    notices = SystemNotices(settings.kafka_bootstrap_servers) if distributed else None
    engine = projection_engine(
        settings, pool, events, OutboxReader(events), facts=facts, notices=notices
    )
    try:
        yield engine
    finally:
        for closing in (facts, notices):
            if closing is not None:
                closing.close()
        engine.close()
        await pool.close()
        events.close()


def _run(data_dir: Path | None, work: Callable[[Settings, ProjectionEngine], Awaitable[T]]) -> T:
    from infra.database import prepare_database

    with database(data_dir) as settings:
        prepare_database(settings)

        async def run() -> T:
            async with _engine(settings) as engine:
                return await work(settings, engine)

        return asyncio.run(run())


@cli.command()
def rebuild(
    projection: Annotated[str | None, typer.Argument(help="The projection to rebuild.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Rebuild every projection.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Rebuild read models from the event store into new tables, then swap them in (the old
    tables serve until then). Refused while another rebuild of the same projection runs."""
    from infra.postgres.projections.schema import RebuildRunningError
    from infra.progress import progress_display
    from infra.rebuild_jobs import tune_gc_for_throughput
    from projections.catalogue import projection_named

    if (projection is None) == (not every):
        raise fail("name one projection, or --all")
    if projection is not None:
        try:
            projection_named(projection)
        except KeyError as error:
            raise fail(str(error.args[0])) from None

    async def work(settings: Settings, engine: ProjectionEngine) -> None:
        tune_gc_for_throughput()
        for unit in engine.units:
            if projection is not None and unit.projection.name != projection:
                continue
            try:
                report = await engine.rebuild(unit, progress_display())
            except RebuildRunningError as error:
                raise fail(str(error)) from None
            typer.echo(
                f"{report.projection}: version {report.version}, {report.events:,} events in"
                f" {report.seconds:.1f} s ({report.rate:,.0f}/s), {report.parked} parked"
            )

    _run(data_dir, work)


@cli.command()
def status(data_dir: DataDir = None) -> None:
    """One table: each dependency's health, the relay's position and backlog, and each
    projection's version, lag, parked aggregates and dead letters. Exits 1 when a dependency
    is down or a projection is stalled."""
    from infra.observability.health import check_now, dependency_probes
    from infra.postgres.projections.status import projections_health, relay_health
    from projections.catalogue import PROJECTIONS
    from streams.relay import RELAY_POSITION

    unhealthy = False

    async def work(settings: Settings, engine: ProjectionEngine) -> None:
        nonlocal unhealthy
        probes = dependency_probes(settings, kafka=settings.kafka_configured)
        checks = await asyncio.to_thread(check_now, probes, settings.health_timeout_seconds)
        pool = engine.units[0].schema.pool
        found = await projections_health(
            pool, list(PROJECTIONS), timedelta(seconds=settings.projection_stall_seconds)
        )
        relay = await relay_health(pool, engine.events.table_name, RELAY_POSITION)
        table = Table(
            "what", "status", "version", "lag (events)", "lag (s)", "parked", "dead letters"
        )
        for check in checks:
            state = "ok" if check.ok else f"down ({check.reason})"
            table.add_row(check.name, f"{state}, {check.seconds * 1000:.0f} ms", "", "", "", "", "")
        if relay.position is None:
            # Embedded mode: nothing publishes; the log's head says how much it holds.
            head = f"head {relay.head:,}"
            table.add_row("relay", "none has run here", head, "", "", "", "")
        else:
            # A position is (transaction id, notification id): see docs/design.md.
            position = f"{relay.position} (newest id {relay.head:,})"
            table.add_row("relay", "ok", position, f"{relay.backlog:,}", "", "", "")
        for health in found:
            table.add_row(
                health.name,
                health.status,
                f"{health.built_version}/{health.version}",
                f"{health.lag_events:,}",
                f"{health.lag_seconds:.1f}",
                str(health.parked),
                str(health.dead_letters),
            )
        Console(width=120).print(table)
        unhealthy = not all(c.ok for c in checks) or any(h.stalled for h in found)

    _run(data_dir, work)
    if unhealthy:
        raise typer.Exit(code=1)


@dlq_cli.command("list")
def dlq_list(data_dir: DataDir = None) -> None:
    """Every dead letter: the event that failed and those waiting behind it."""

    async def work(settings: Settings, engine: ProjectionEngine) -> None:
        letters = await engine.dead_letters().entries()
        if not letters:
            typer.echo("no dead letters")
            return
        table = Table("id", "projection", "aggregate", "v", "event", "state", "tries", "error")
        for letter in letters:
            table.add_row(
                str(letter.id),
                letter.projection,
                str(letter.aggregate_id),
                str(letter.aggregate_version or "-"),
                letter.event_type,
                "failed" if letter.failed else "waiting",
                str(letter.attempts),
                letter.error.splitlines()[0][:60] if letter.error else "",
            )
        Console().print(table)

    _run(data_dir, work)


@dlq_cli.command("show")
def dlq_show(letter_id: int, data_dir: DataDir = None) -> None:
    """One dead letter with its error and the event as received."""
    from infra.postgres.projections.dead_letters import DeadLetterError

    async def work(settings: Settings, engine: ProjectionEngine) -> None:
        try:
            letter = await engine.dead_letters().show(letter_id)
        except DeadLetterError as error:
            raise fail(str(error)) from None
        for name in (
            "id",
            "projection",
            "aggregate_id",
            "aggregate_version",
            "event_type",
            "attempts",
            "failed",
            "parked_at",
        ):
            typer.echo(f"{name}: {getattr(letter, name)}")
        typer.echo(f"error: {letter.error or '(waits behind an earlier event)'}")
        try:
            typer.echo(json.dumps(json.loads(letter.payload), indent=2))
        except ValueError:
            typer.echo(f"payload (not JSON): {letter.payload!r}")

    _run(data_dir, work)


@dlq_cli.command("retry")
def dlq_retry(
    letter_id: Annotated[int | None, typer.Argument(help="A dead letter's id.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every parked aggregate.")] = False,
    by: By = None,
    data_dir: DataDir = None,
) -> None:
    """Apply a parked aggregate's events again, read from the event store (after a fix)."""
    from infra.postgres.projections.dead_letters import DeadLetterError

    if (letter_id is None) == (not every):
        raise fail("name one dead letter, or --all")
    actor = by or getpass.getuser()

    async def work(settings: Settings, engine: ProjectionEngine) -> None:
        letters = engine.dead_letters()
        try:
            done = (
                await letters.retry_all(actor)
                if every
                else [await letters.retry(letter_id or 0, actor)]
            )
        except DeadLetterError as error:
            raise fail(str(error)) from None
        for resolution in done:
            outcome = (
                "flows again"
                if resolution.failure is None
                else (f"still fails: {resolution.failure.error}")
            )
            typer.echo(f"{resolution.projection} {resolution.aggregate_id}: {outcome}")
        if any(r.failure is not None for r in done):
            raise typer.Exit(code=1)

    _run(data_dir, work)


@dlq_cli.command("skip")
def dlq_skip(
    letter_id: int,
    reason: Annotated[str, typer.Option(help="Why (recorded).")] = "",
    by: By = None,
    data_dir: DataDir = None,
) -> None:
    """Skip the event that failed (recorded with who and why); the aggregate's view is then
    rebuilt from its other events."""
    from infra.postgres.projections.dead_letters import DeadLetterError

    actor = by or getpass.getuser()

    async def work(settings: Settings, engine: ProjectionEngine) -> None:
        try:
            resolution = await engine.dead_letters().skip(letter_id, actor, reason)
        except DeadLetterError as error:
            raise fail(str(error)) from None
        outcome = (
            "flows again"
            if resolution.failure is None
            else (f"still fails, at a later event: {resolution.failure.error}")
        )
        typer.echo(f"{resolution.projection} {resolution.aggregate_id}: {outcome}")

    _run(data_dir, work)
