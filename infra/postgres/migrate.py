"""Applies the numbered SQL files in `migrations/` once each, in order, under a lock."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources

import psycopg

log = logging.getLogger(__name__)

_LOCK_KEY = 0x17E4A  # any constant: serialises concurrent migrators


@contextmanager
def migration_lock(conninfo: str) -> Iterator[None]:
    """Held while schema changes run, so processes that start together take turns."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def migrate(conninfo: str) -> list[str]:
    """Apply pending migrations (call under `migration_lock`); returns the names applied."""
    files = sorted(
        (
            f
            for f in resources.files("infra.postgres.migrations").iterdir()
            if f.name.endswith(".sql")
        ),
        key=lambda f: f.name,
    )
    applied: list[str] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
        for file in files:
            if file.name in done:
                continue
            with conn.transaction():
                conn.execute(file.read_text())
                conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (file.name,))
            log.info("applied migration %s", file.name)
            applied.append(file.name)
    return applied
