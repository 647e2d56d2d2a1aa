"""The `itinera` command: one entry point, one role per subcommand (seed 001, A2), and the
operators' commands (rebuild, dead letters, status, topics, keys)."""

from __future__ import annotations

from infra.cli import (
    admin,
    housekeeping,
    planner_role,
    projections,
    relay_role,
    roles,
    serve_role,
    users,
    worker_role,
)
from infra.cli.app import cli

__all__ = [
    "admin",
    "cli",
    "housekeeping",
    "main",
    "planner_role",
    "projections",
    "relay_role",
    "roles",
    "serve_role",
    "users",
    "worker_role",
]


def main() -> None:
    cli()
