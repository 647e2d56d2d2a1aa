"""A client's queued change, and what became of it: applied, in conflict, or refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

EntityType = Literal["trip", "destination", "activity", "message"]
ChangeAction = Literal["create", "update", "delete"]
Status = Literal["applied", "conflict", "error"]


@dataclass(frozen=True)
class SyncChange:
    """One change from a client's outbox. `fields` holds validated values (dates, amounts,
    `When`/`At` times, `position` for a reorder), named as the commands name them."""

    entity_type: EntityType
    entity_id: UUID
    action: ChangeAction
    fields: dict[str, Any]
    data: dict[str, Any]  # as the client sent it (JSON), kept with a conflict or a refusal
    client_timestamp: datetime | None = None
    mutation_id: str | None = None
    base_version: int | None = None  # the entity version the client edited from
    fingerprint: str = ""  # a digest of the change: one mutation id, one change


@dataclass(frozen=True)
class Outcome:
    """What a change came to. `status` is applied, conflict or error; a conflict carries
    the conflicting fields and both sides' data, an error its stable code."""

    status: Status
    entity_type: EntityType
    entity_id: UUID
    action: ChangeAction
    mutation_id: str | None
    server_timestamp: datetime
    trip_id: UUID | None = None
    version: int | None = None  # applied: the version its effects are in
    code: str | None = None
    message: str | None = None
    conflict_id: UUID | None = None
    fields: tuple[str, ...] = ()
    client_data: dict[str, Any] | None = None
    server_data: dict[str, Any] | None = None
    replayed: bool = False  # a retry: this is the first outcome, told again
    extra: dict[str, Any] = field(default_factory=dict)


def outcome_of(change: SyncChange, status: Status, **more: Any) -> Outcome:
    """What became of `change`, now: `more` holds what its status adds."""
    return Outcome(
        status=status,
        entity_type=change.entity_type,
        entity_id=change.entity_id,
        action=change.action,
        mutation_id=change.mutation_id,
        server_timestamp=datetime.now(UTC),
        **more,
    )


@dataclass(frozen=True)
class Resolution:
    """How a conflict was settled: by whom, when, and the version its effects are in."""

    conflict_id: UUID
    strategy: str
    resolved_by: UUID
    resolved_at: datetime
    version: int | None
    replayed: bool = False
