"""What the sync endpoints answer with: the seed's shapes, with the richer fields beside.
The models are what the OpenAPI page shows; each answer is built from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from read_side.sync import PullPage, SyncStatus
from write_side.sync.changes import Outcome


class OutcomeView(BaseModel):
    """One change's outcome. An applied message carries `server_id` (the server numbers
    messages in their room; the client's id names its mutation only)."""

    status: Literal["applied", "conflict", "error"]
    entity_type: str
    entity_id: UUID
    action: str
    mutation_id: str | None
    server_timestamp: datetime
    replayed: bool = Field(description="A retry: the first outcome, told again")
    trip_id: UUID | None = Field(default=None, description="applied")
    version: int | None = Field(default=None, description="applied: the version it is in")
    server_id: UUID | None = Field(default=None, description="an applied message create")
    conflict_id: UUID | None = Field(default=None, description="conflict")
    fields: list[str] | None = Field(default=None, description="conflict: the fields at odds")
    client_data: dict[str, Any] | None = Field(default=None, description="conflict")
    server_data: dict[str, Any] | None = Field(default=None, description="conflict")
    code: str | None = Field(default=None, description="error: the stable code")
    message: str | None = Field(default=None, description="error")


class PushView(BaseModel):
    applied: list[OutcomeView]
    conflicts: list[OutcomeView]
    errors: list[OutcomeView]
    results: list[OutcomeView] = Field(description="One per change, in order")


class Checkpoint(BaseModel):
    client_id: str
    mutation_id: str | None


class PullView(BaseModel):
    trips: list[dict[str, Any]]
    destinations: list[dict[str, Any]]
    activities: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    deleted: dict[str, list[UUID]] = Field(description="Ids to purge, by plural entity type")
    sync_timestamp: datetime
    cursor: str = Field(description="Opaque: send it with the next pull")
    has_more: bool
    last_mutation_id: str | None = Field(
        description="The client's last change whose effects are in what was pulled"
    )
    checkpoint: Checkpoint | None


class ClientView(BaseModel):
    client_id: str
    last_push_at: datetime | None
    last_pull_at: datetime | None
    pending_conflicts: int
    rejected: int


class TripChecksum(BaseModel):
    trip_id: UUID
    version: int
    checksum: str


class StatusView(BaseModel):
    clients: list[ClientView]
    client_ids: list[str]
    last_sync_timestamp: datetime | None
    conflict_count: int
    conflicts: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    trips: list[TripChecksum]


class ResolutionView(BaseModel):
    conflict_id: UUID
    resolution_strategy: str
    resolved_by: UUID
    resolved_at: datetime
    version: int | None = Field(description="The version the resolution's effects are in")
    replayed: bool


def outcome_view(o: Outcome) -> OutcomeView:
    view = OutcomeView(
        status=o.status,
        entity_type=o.entity_type,
        entity_id=o.entity_id,
        action=o.action,
        mutation_id=o.mutation_id,
        server_timestamp=o.server_timestamp,
        replayed=o.replayed,
    )
    if o.status == "applied":
        view.trip_id, view.version = o.trip_id, o.version
        if "server_id" in o.extra:
            view.server_id = UUID(o.extra["server_id"])
    elif o.status == "conflict":
        view.conflict_id, view.fields = o.conflict_id, list(o.fields)
        view.client_data, view.server_data = o.client_data, o.server_data
    else:
        view.code, view.message = o.code, o.message
    return view


def trip_writes(outcomes: list[Outcome]) -> list[tuple[UUID, int]]:
    """The trips' versions a push wrote (the trip views have them to reach; writes are
    paced by them). A chat message's version is its room's, not the trip's."""
    return [
        (o.trip_id, o.version)
        for o in outcomes
        if o.status == "applied"
        and not o.replayed
        and o.entity_type != "message"
        and o.trip_id is not None
        and o.version is not None
    ]


def push_view(outcomes: list[Outcome]) -> dict[str, Any]:
    views = [outcome_view(o) for o in outcomes]
    every = [v.model_dump(mode="json", exclude_unset=True) for v in views]
    return {
        "applied": [v for v in every if v["status"] == "applied"],
        "conflicts": [v for v in every if v["status"] == "conflict"],
        "errors": [v for v in every if v["status"] == "error"],
        "results": every,
    }


def page_view(page: PullPage, cursor: str, client_id: str | None) -> dict[str, Any]:
    """The page as `PullView` describes it, built as plain JSON values (it is large)."""
    checkpoint = (
        None if client_id is None else {"client_id": client_id, "mutation_id": page.checkpoint}
    )
    return {
        **page.entities,
        "deleted": page.deleted,
        "sync_timestamp": page.sync_timestamp,
        "cursor": cursor,
        "has_more": page.has_more,
        "last_mutation_id": page.checkpoint,
        "checkpoint": checkpoint,
    }


def status_view(found: SyncStatus) -> StatusView:
    pulls = [c.last_pull_at for c in found.clients if c.last_pull_at is not None]
    return StatusView(
        clients=[ClientView(**c.__dict__) for c in found.clients],
        client_ids=[c.client_id for c in found.clients],
        last_sync_timestamp=max(pulls) if pulls else None,
        conflict_count=sum(c.pending_conflicts for c in found.clients),
        conflicts=found.conflicts,
        rejected=found.rejected,
        trips=[TripChecksum(**t) for t in found.trips],
    )
