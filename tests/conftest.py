from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services import as_url, fresh_database, kafka_broker, postgres_server, redis_server


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A real PostgreSQL server: the local one, or an embedded one started for the session."""
    with postgres_server() as url:
        yield url


@pytest.fixture
def database_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database on the real server, dropped after the test."""
    with fresh_database(postgres_admin_url) as conninfo:
        yield as_url(conninfo)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A real Kafka-protocol broker (Tansu), started for the session unless one is given."""
    with kafka_broker() as bootstrap:
        yield bootstrap


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis: the local one, or one started for the session."""
    with redis_server() as url:
        yield url
