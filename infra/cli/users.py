"""Accounts, from the operator's side."""

from __future__ import annotations

import uuid

import typer

from infra.cli.app import database, fail, users_cli
from infra.cli.projections import DataDir


@users_cli.command("grant-admin")
def grant_admin(email: str, data_dir: DataDir = None) -> None:
    """Make the account with this email an operator: it may read `GET
    /api/v1/analytics/overview/` (every trip's figures by day, never a trip's own content)."""
    from infra.database import build_event_store, prepare_database
    from write_side.context import SYSTEM, CommandContext
    from write_side.identity.operators import grant_admin as grant

    with database(data_dir) as settings:
        prepare_database(settings)
        events = build_event_store(settings)
        try:
            user_id = grant(events, email, CommandContext(SYSTEM, uuid.uuid4()))
        finally:
            events.close()
    if user_id is None:
        raise fail(f"no account has the email {email!r}")
    typer.echo(f"{email} ({user_id}) is an operator")
