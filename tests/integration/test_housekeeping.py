"""Housekeeping on a real PostgreSQL: every expiring table loses its expired rows and keeps
its live ones, in batches, safely when purges run at once or a request holds a row; the CLI
prints the counts; embedded mode and the worker purge on their own."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from prometheus_client import REGISTRY
from psycopg import AsyncConnection

from infra.database import prepare_database
from infra.kafka import create_topics
from infra.postgres.housekeeping import (
    PurgeReport,
    expiring_tables,
    purge_now,
    purge_table,
)
from infra.settings import Settings
from infra.wiring import api_container
from tests.e2e.processes import ITINERA, Role
from tests.services import tansu_broker
from tests.waiting import until

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

KEYS = {
    "revoked_tokens": "jti",
    "revoked_subjects": "subject",
    "token_families": "family",
    "planner_draft_cache": "key",
}
TABLES = list(KEYS)
WINDOW = 3600  # ITINERA_PLANNER_CACHE_SECONDS of these tests


@pytest.fixture
def settings(database_url: str) -> Settings:
    settings = Settings(database_url=database_url, planner_cache_seconds=WINDOW)
    prepare_database(settings)
    return settings


def seed(url: str, table: str, expired: int, live: int) -> None:
    """`expired` rows past their expiry (by a second to an hour) and `live` ones, keyed
    `expired-n` and `live-n`."""
    ago = "now() - make_interval(secs => 1 + (g % 3600))"
    ahead = "now() + interval '1 hour'"
    made_ago = f"now() - make_interval(secs => {WINDOW} + 1 + (g % 3600))"
    made_lately = "now() - interval '1 minute'"
    rows = {
        "revoked_tokens": "(jti, expires_at) SELECT '{0}-' || g, {1}",
        "revoked_subjects": "(subject, issued_before, expires_at) SELECT '{0}-' || g, 1.0, {1}",
        "token_families": "(family, current_jti, expires_at) SELECT '{0}-' || g, 'j' || g, {1}",
        "planner_draft_cache": "(key, document, usage, made_at)"
        " SELECT '{0}-' || g, '{{}}', '{{}}', {2}",
    }[table]
    with psycopg.connect(url, autocommit=True) as conn:
        for prefix, count, expiry, made in (
            ("expired", expired, ago, made_ago),
            ("live", live, ahead, made_lately),
        ):
            values = rows.format(prefix, expiry, made)
            conn.execute(f"INSERT INTO {table} {values} FROM generate_series(1, {count}) g")


def left(url: str, table: str) -> tuple[int, int]:
    """(expired rows, live rows) still in `table`."""
    key = KEYS[table]
    with psycopg.connect(url) as conn:
        row = conn.execute(
            f"SELECT count(*) FILTER (WHERE {key} LIKE 'expired-%'),"
            f" count(*) FILTER (WHERE {key} LIKE 'live-%') FROM {table}"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def purged_counter(table: str) -> float:
    found = REGISTRY.get_sample_value("itinera_housekeeping_purged_rows_total", {"table": table})
    return found or 0.0


async def test_expired_rows_go_and_live_rows_stay_in_every_table(settings: Settings) -> None:
    url = settings.database_url
    assert url is not None
    for n, table in enumerate(TABLES):
        seed(url, table, expired=3 + n, live=2)
    counted = {table: purged_counter(table) for table in TABLES}

    report = await purge_now(settings)

    assert report.ran
    assert report.purged == {table: 3 + n for n, table in enumerate(TABLES)}
    for table in TABLES:
        assert left(url, table) == (0, 2), table
        assert purged_counter(table) == counted[table] + report.purged[table]
    again = await purge_now(settings)
    assert again.purged == dict.fromkeys(TABLES, 0)


async def test_the_expired_are_what_the_stores_read_as_absent(settings: Settings) -> None:
    """A row is purged once the store's own check (against the database clock) calls it
    gone, not before: the boundary rows stay until then."""
    url = settings.database_url
    assert url is not None
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO revoked_tokens VALUES ('soon', now() + interval '2 seconds'),"
            " ('just-gone', now())"
        )
        conn.execute(
            "INSERT INTO planner_draft_cache (key, document, usage, made_at) VALUES"
            f" ('fresh', '{{}}', '{{}}', now() - make_interval(secs => {WINDOW - 5}))"
        )

    report = await purge_now(settings)

    assert report.purged["revoked_tokens"] == 1
    assert report.purged["planner_draft_cache"] == 0
    with psycopg.connect(url) as conn:
        kept = conn.execute("SELECT jti FROM revoked_tokens").fetchall()
    assert kept == [("soon",)]


async def test_with_the_draft_cache_off_every_cached_draft_goes(settings: Settings) -> None:
    url = settings.database_url
    assert url is not None
    seed(url, "planner_draft_cache", expired=2, live=3)

    report = await purge_now(settings.model_copy(update={"planner_cache_seconds": 0}))

    assert report.purged["planner_draft_cache"] == 5
    assert left(url, "planner_draft_cache") == (0, 0)


async def test_more_expired_rows_than_a_batch_all_go(settings: Settings) -> None:
    url = settings.database_url
    assert url is not None
    seed(url, "revoked_tokens", expired=2345, live=10)
    seed(url, "token_families", expired=500, live=1)  # exactly one batch, then an empty one

    report = await purge_now(settings, batch_size=500)

    assert report.purged["revoked_tokens"] == 2345
    assert report.purged["token_families"] == 500
    assert left(url, "revoked_tokens") == (0, 10)
    assert left(url, "token_families") == (0, 1)


async def test_purges_running_at_once_delete_each_row_once(settings: Settings) -> None:
    url = settings.database_url
    assert url is not None
    for table in TABLES:
        seed(url, table, expired=3000, live=5)

    reports = await asyncio.gather(*(purge_now(settings, batch_size=100) for _ in range(3)))

    assert any(report.ran for report in reports)
    for table in TABLES:
        assert sum(report.purged.get(table, 0) for report in reports) == 3000, table
        assert left(url, table) == (0, 5), table


async def test_batches_deleting_side_by_side_without_the_lock_are_safe(
    settings: Settings,
) -> None:
    """Deleting is safe without the advisory lock too: it only spares the work."""
    url = settings.database_url
    assert url is not None
    seed(url, "revoked_tokens", expired=4000, live=5)
    (tokens,) = [e for e in expiring_tables(settings) if e.table == "revoked_tokens"]
    first, second = [await AsyncConnection.connect(url, autocommit=True) for _ in range(2)]
    try:
        counts = await asyncio.gather(
            purge_table(first, tokens, batch_size=50), purge_table(second, tokens, batch_size=50)
        )
    finally:
        await first.close()
        await second.close()
    # Each stops at its first short batch (rows the other holds are skipped, not waited
    # for): one more purge takes whatever both passed over.
    rest = (await purge_now(settings)).purged["revoked_tokens"]
    assert sum(counts) + rest == 4000
    assert left(url, "revoked_tokens") == (0, 5)


async def test_a_purge_waits_its_turn_while_another_runs(settings: Settings) -> None:
    url = settings.database_url
    assert url is not None
    seed(url, "revoked_tokens", expired=3, live=0)
    async with await AsyncConnection.connect(url, autocommit=True) as other:
        await other.execute("SELECT pg_advisory_lock(hashtextextended('itinera:housekeeping', 0))")
        skipped = await purge_now(settings)
        assert skipped == PurgeReport(ran=False)
        assert left(url, "revoked_tokens") == (3, 0)
    # The other purge's connection is gone, and its lock with it.
    assert (await purge_now(settings)).purged["revoked_tokens"] == 3


async def test_a_family_renewed_while_the_purge_runs_is_kept(settings: Settings) -> None:
    """A refresh holding an expired family's row (renewing it) is not waited for, and the
    row it renews stays."""
    url = settings.database_url
    assert url is not None
    seed(url, "token_families", expired=10, live=0)
    async with await AsyncConnection.connect(url) as refresh:
        await refresh.execute(
            "UPDATE token_families SET expires_at = now() + interval '30 days'"
            " WHERE family = 'expired-1'"
        )
        # Not waiting for the refresh's transaction: a purge that did would never end here.
        report = await asyncio.wait_for(purge_now(settings), timeout=60)
        await refresh.commit()
    assert report.purged["token_families"] == 9
    with psycopg.connect(url) as conn:
        kept = conn.execute(
            "SELECT family, expires_at > now() + interval '29 days' FROM token_families"
        ).fetchall()
    assert kept == [("expired-1", True)]


def test_the_cli_purges_and_prints_the_counts(settings: Settings, tmp_path: Path) -> None:
    url = settings.database_url
    assert url is not None
    seed(url, "revoked_tokens", expired=1234, live=1)
    seed(url, "planner_draft_cache", expired=2, live=1)
    env = {"ITINERA_DATABASE_URL": url, "ITINERA_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [ITINERA, "housekeeping"],
        env={**_base_env(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line.split() for line in done.stdout.splitlines()]
    assert ["revoked_tokens", "1,234"] in lines
    assert ["planner_draft_cache", "2"] in lines
    assert ["token_families", "0"] in lines
    assert lines[-1][:2] == ["total", "1,236"]
    assert left(url, "revoked_tokens") == (0, 1)


def _base_env() -> dict[str, str]:
    """This environment without the ITINERA_ settings other tests may have left."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ITINERA_")}


async def test_embedded_mode_purges_in_the_background(api_settings: Settings) -> None:
    settings = api_settings.model_copy(
        update={"housekeeping_seconds": 0.2, "embedding_model": "hashed"}
    )
    url = settings.database_url
    assert url is not None
    seed(url, "revoked_tokens", expired=7, live=2)
    async with api_container(settings):
        assert any(task.get_name() == "housekeeping" for task in asyncio.all_tasks())
        await until(lambda: left(url, "revoked_tokens") == (0, 2), "the embedded purge", 30)
    assert not any(task.get_name() == "housekeeping" for task in asyncio.all_tasks())


@pytest.fixture
def broker() -> Iterator[str]:
    with tansu_broker() as bootstrap:
        yield bootstrap


def test_the_worker_purges_on_its_ticks(settings: Settings, broker: str, tmp_path: Path) -> None:
    url = settings.database_url
    assert url is not None
    create_topics(broker, 1, 1)
    seed(url, "revoked_tokens", expired=5, live=1)
    seed(url, "token_families", expired=5, live=1)
    env = {
        **_base_env(),
        "ITINERA_DATABASE_URL": url,
        "ITINERA_KAFKA_BOOTSTRAP_SERVERS": broker,
        "ITINERA_TOPIC_PARTITIONS": "1",
        "ITINERA_WORKER_APP_ID": f"itinera-housekeeping-{uuid.uuid4().hex[:8]}",
        "ITINERA_DATA_DIR": str(tmp_path / "data"),
        "ITINERA_EMBEDDING_MODEL": "hashed",
        "ITINERA_REMINDER_CHECK_SECONDS": "0.5",  # the worker's tick
        "ITINERA_HOUSEKEEPING_SECONDS": "1",
    }
    worker = Role("worker", ["worker"], env, tmp_path).start()
    try:

        def purged() -> bool:
            worker.check_alive()
            return left(url, "revoked_tokens") == (0, 1) and left(url, "token_families") == (0, 1)

        _wait(purged, "the worker's purge", worker.tail)
    finally:
        worker.stop()


def _wait(
    condition: Callable[[], bool], what: str, tail: Callable[[], str], timeout: float = 90
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no sign of {what} in {timeout} s:\n{tail()}")
        time.sleep(0.1)
