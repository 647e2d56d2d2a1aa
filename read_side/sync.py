"""Sync pulls and status, as the query API serves them: the port the feed's store
implements (PostgreSQL in infra) and what it answers with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from read_side.sync_cursor import SyncCursor

ENTITY_TYPES = ("trip", "destination", "activity", "message")
PLURAL = {
    "trip": "trips",
    "destination": "destinations",
    "activity": "activities",
    "message": "messages",
}


@dataclass(frozen=True)
class PullRequest:
    user_id: UUID
    entity_types: tuple[str, ...]
    limit: int
    cursor: SyncCursor | None = None  # where the client is (decoded, checked)
    since: datetime | None = None  # a seed client's last_sync_timestamp, without a cursor
    client_id: str | None = None  # whose write checkpoint to report


@dataclass
class PullPage:
    """Each entity once, in its latest state, with its version; tombstones by type."""

    # Each a JSON document as stored (an `orjson.Fragment`: encoded into the answer as it is).
    entities: dict[str, list[Any]]
    deleted: dict[str, list[str]]
    cursor: SyncCursor
    has_more: bool
    sync_timestamp: datetime
    checkpoint: str | None = None  # the client's last mutation id whose effects are in here
    checkpoint_entry: int = 0


@dataclass(frozen=True)
class ClientStatus:
    client_id: str
    last_push_at: datetime | None
    last_pull_at: datetime | None
    pending_conflicts: int
    rejected: int


@dataclass
class SyncStatus:
    clients: list[ClientStatus]
    conflicts: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    trips: list[dict[str, Any]] = field(default_factory=list)  # trip_id, version, checksum


class SyncFeed(Protocol):
    async def epoch(self) -> UUID: ...

    async def pull(self, request: PullRequest) -> PullPage: ...

    async def status(self, user_id: UUID, client_id: str | None) -> SyncStatus: ...
