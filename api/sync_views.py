"""What the sync endpoints answer with: the seed's shapes, with the richer fields beside."""

from __future__ import annotations

from typing import Any

from read_side.sync import PullPage, SyncStatus
from write_side.sync.changes import Outcome


def outcome_view(o: Outcome) -> dict[str, Any]:
    """One change's outcome. An applied message carries `server_id` (the server numbers
    messages in their room; the client's id names its mutation only)."""
    view: dict[str, Any] = {
        "status": o.status,
        "entity_type": o.entity_type,
        "entity_id": str(o.entity_id),
        "action": o.action,
        "mutation_id": o.mutation_id,
        "server_timestamp": o.server_timestamp.isoformat(),
        "replayed": o.replayed,
    }
    if o.status == "applied":
        view.update(trip_id=str(o.trip_id), version=o.version, **o.extra)
    elif o.status == "conflict":
        view.update(
            conflict_id=str(o.conflict_id),
            fields=list(o.fields),
            client_data=o.client_data,
            server_data=o.server_data,
        )
    else:
        view.update(code=o.code, message=o.message)
    return view


def page_view(page: PullPage, cursor: str, client_id: str | None) -> dict[str, Any]:
    return {
        **page.entities,
        "deleted": page.deleted,
        "sync_timestamp": page.sync_timestamp.isoformat(),
        "cursor": cursor,
        "has_more": page.has_more,
        "last_mutation_id": page.checkpoint,
        "checkpoint": None
        if client_id is None
        else {"client_id": client_id, "mutation_id": page.checkpoint},
    }


def status_view(found: SyncStatus) -> dict[str, Any]:
    pulls = [c.last_pull_at for c in found.clients if c.last_pull_at is not None]
    return {
        "clients": [c.__dict__ for c in found.clients],
        "client_ids": [c.client_id for c in found.clients],
        "last_sync_timestamp": max(pulls).isoformat() if pulls else None,
        "conflict_count": sum(c.pending_conflicts for c in found.clients),
        "conflicts": found.conflicts,
        "rejected": found.rejected,
        "trips": found.trips,
    }
