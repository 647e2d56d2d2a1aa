"""The projection engine under faults, with the relay and the Faust worker as real processes
over a real PostgreSQL and Tansu: a poison event parks one trip while the worker runs on, a
worker killed at random points mid-burst loses nothing and applies nothing twice, and what
the worker built equals a fresh rebuild from the event store, row by row."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from projections.trip_views import TRIP_VIEWS
from streams.system_contracts import ProjectionParked, parse_system_notice
from streams.topics import ANALYTICS_EVENTS
from streams.topics import SYSTEM_NOTIFICATIONS as SYSTEM
from tests.e2e.load import (
    Burst,
    assert_equals_a_rebuild,
    kill_at_random_during,
    wait_until_projected,
)
from tests.e2e.processes import Role, run_once
from tests.faults import FAULT_FILE
from tests.services import as_url, fresh_database, tansu_broker

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PARTITIONS = 4


@dataclass
class Pipeline:
    database_url: str
    env: dict[str, str]
    fault: Path
    relay: Role
    worker: Role

    def check(self) -> None:
        self.relay.check_alive()
        self.worker.check_alive()


@pytest.fixture(scope="module")
def pipeline(postgres_admin_url: str, tmp_path_factory) -> Iterator[Pipeline]:
    logs: Path = tmp_path_factory.mktemp("logs")
    fault = tmp_path_factory.mktemp("fault") / "poison-titles"
    # A broker of its own: a rebuild from this database must find exactly what its topics hold.
    with tansu_broker() as kafka_bootstrap, fresh_database(postgres_admin_url) as conninfo:
        env = {
            "ITINERA_DATABASE_URL": as_url(conninfo),
            "ITINERA_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "ITINERA_TOPIC_PARTITIONS": str(PARTITIONS),
            "ITINERA_WORKER_APP_ID": f"itinera-crash-{uuid4().hex[:8]}",
            "ITINERA_DATA_DIR": str(tmp_path_factory.mktemp("data")),
            # A title change to a title holding POISON fails to project while `fault` exists.
            "ITINERA_PROJECTION_WRAPPER": "tests.faults:poison_titles_while_fault_file_exists",
            FAULT_FILE: str(fault),
            "ITINERA_PROJECTION_RETRY_BACKOFF": "0.05",
            "PYTHONPATH": str(ROOT),
        }
        run_once(["topics", "create"], env)
        run_once(["migrate"], env)
        found = Pipeline(
            database_url=env["ITINERA_DATABASE_URL"],
            env=env,
            fault=fault,
            relay=Role("relay", ["relay"], env, logs),
            worker=Role("worker", ["worker"], env, logs),
        )
        try:
            found.relay.start()
            found.worker.start()
            yield found
        finally:
            found.worker.stop()
            found.relay.stop()


def tracked(database_url: str, trip_id) -> tuple[int, bool] | None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT version, parked FROM trip_views_tracking WHERE aggregate_id = %s", (trip_id,)
        ).fetchone()
    return None if row is None else (int(row[0]), bool(row[1]))


def wait_for(condition, pipeline: Pipeline, timeout: float = 90, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        pipeline.check()
        assert time.monotonic() < deadline, f"{what} never happened\n{pipeline.worker.tail()}"
        time.sleep(0.1)


def test_a_poison_event_parks_one_trip_while_the_worker_runs_on(pipeline: Pipeline) -> None:
    pipeline.fault.touch()
    burst = Burst(pipeline.database_url, trips=2)
    try:
        burst.plan()
        sick, healthy = list(burst._owners)
        owner = burst._owners[sick]
        from write_side.trips.commands import UpdateTripDetails

        burst.planner.update_trip_details(UpdateTripDetails(sick, title="POISON"), owner)
        last = burst.planner.update_trip_details(UpdateTripDetails(sick, description="x"), owner)
        for n in range(5):
            burst.planner.update_trip_details(
                UpdateTripDetails(healthy, title=f"fine {n}"), burst._owners[healthy]
            )
        wait_for(
            lambda: tracked(pipeline.database_url, healthy) == (6, False),
            pipeline,
            what="the healthy trip's projection",
        )
        wait_for(
            lambda: tracked(pipeline.database_url, sick) == (1, True),
            pipeline,
            what="the sick trip's parking",
        )
        pipeline.check()  # the worker runs on
        parked = [
            parse_system_notice(record.value)
            for record in messages_on(pipeline.env["ITINERA_KAFKA_BOOTSTRAP_SERVERS"], SYSTEM)
        ]
        assert any(
            isinstance(n, ProjectionParked)
            and (n.payload.projection, n.payload.aggregate_id) == ("trip_views", sick)
            and n.payload.applied_version == 1
            for n in parked
        ), parked

        pipeline.fault.unlink()  # the bug is fixed
        out = run_once(["dlq", "retry", "--all", "--by", "e2e"], pipeline.env)
        assert f"trip_views {sick}: flows again" in out
        assert tracked(pipeline.database_url, sick) == (last.version, False)
        with psycopg.connect(pipeline.database_url) as conn:
            title = conn.execute(
                "SELECT view->>'title' FROM trip_views WHERE trip_id = %s", (sick,)
            ).fetchone()
        assert title == ("POISON",)
        assert "no dead letters" in run_once(["dlq", "list"], pipeline.env)
    finally:
        burst.close()


def test_a_worker_killed_at_random_points_loses_nothing_and_equals_a_rebuild(
    pipeline: Pipeline,
) -> None:
    burst = Burst(pipeline.database_url, trips=60, commands=5_000)

    def kill_and_restart() -> None:
        pipeline.worker.kill()  # mid-batch or not
        pipeline.worker.start()

    try:
        burst.plan()
        sent_at = kill_at_random_during(burst, kill_and_restart, pause=(2.0, 5.0), kills=2)
        # Commands were sent between the kills and after the last: each struck mid-burst.
        assert sent_at == sorted(set(sent_at)), sent_at
        assert burst.sent >= 5_000
        wait_until_projected(pipeline.database_url, pipeline.check, timeout=180)
    finally:
        burst.close()
    # Every fact the worker stored it had published first: none is missing from the topic
    # (some are there twice, from batches replayed after a kill, with the same ids).
    with psycopg.connect(pipeline.database_url) as conn:
        stored = {str(row[0]) for row in conn.execute("SELECT event_id FROM analytics_facts")}
    published = [
        dict(record.headers)["event_id"].decode()
        for record in messages_on(pipeline.env["ITINERA_KAFKA_BOOTSTRAP_SERVERS"], ANALYTICS_EVENTS)
    ]
    assert stored and stored <= set(published), f"{len(stored - set(published))} facts lost"
    assert_equals_a_rebuild(
        pipeline.database_url, lambda: run_once(["rebuild", "--all"], pipeline.env)
    )


def messages_on(bootstrap: str, topic: str) -> list[ConsumerRecord]:
    """Every message on the topic, from the beginning."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, consumer_timeout_ms=3000)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        return list(consumer)
    finally:
        consumer.close()


def test_a_worker_whose_code_declares_a_new_version_rebuilds_it_by_itself(
    pipeline: Pipeline,
) -> None:
    burst = Burst(pipeline.database_url, trips=3)
    try:
        burst.plan()
        wait_until_projected(pipeline.database_url, pipeline.check, timeout=90)
    finally:
        burst.close()
    pipeline.worker.stop()
    # The new code: the trip views projection at its next version (titles in upper case).
    pipeline.worker.env["ITINERA_PROJECTION_WRAPPER"] = "tests.faults:next_version_shouting"
    pipeline.worker.start()

    def built() -> int | None:
        with psycopg.connect(pipeline.database_url) as conn:
            row = conn.execute(
                "SELECT version FROM projection_state WHERE name = 'trip_views'"
            ).fetchone()
        return None if row is None else row[0]

    following = TRIP_VIEWS.version + 1
    wait_for(lambda: built() == following, pipeline, what=f"the worker's rebuild of {following}")
    with psycopg.connect(pipeline.database_url) as conn:
        titles = {row[0] for row in conn.execute("SELECT view->>'title' FROM trip_views")}
    assert titles and all(title == title.upper() for title in titles)
    assert "rebuilding" in pipeline.worker.tail(200)
