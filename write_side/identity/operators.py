"""Operators: users who may read every trip's analytics together. Granted from the command
line only (`itinera users grant-admin EMAIL`), never through the API."""

from __future__ import annotations

from uuid import UUID

from write_side.context import CommandContext, acting_as
from write_side.event_store import EventStore
from write_side.identity.user import EmailIndex, User


def grant_admin(events: EventStore, email: str, context: CommandContext) -> UUID | None:
    """Make the account with this email an operator; None: no account has it."""
    index = events.find(EmailIndex.create_id(email), EmailIndex)
    owner = None if index is None else index.owner
    user = None if owner is None else events.find(owner, User)
    if user is None:
        return None
    with acting_as(context):
        user.grant_admin()
    events.save(user)
    return user.id
