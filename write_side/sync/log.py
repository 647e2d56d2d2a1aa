"""The sync log port: every change's first outcome per client and mutation id, the open
conflicts, and their resolutions (the seed's SyncLog and ConflictResolution). PostgreSQL in
infra; a dict in unit tests.

The exactly-once guarantee does not rest on the log: an applied change's command record is
saved in the same write as its events. The log answers a retry with the first outcome, and
keeps refusals and conflicts for `GET /sync/status/`.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from write_side.sync.changes import Outcome, Resolution


class SyncLog(Protocol):
    def first_outcome(
        self, user_id: UUID, client_id: str, mutation_id: str
    ) -> tuple[Outcome, str] | None:
        """The outcome recorded for this mutation, with the change's fingerprint."""
        ...

    def record(self, user_id: UUID, client_id: str, outcome: Outcome, fingerprint: str) -> Outcome:
        """Keep the outcome, unless one is already kept for its mutation id: then that one
        (the first) is returned, marked replayed."""
        ...

    def conflict(self, conflict_id: UUID) -> tuple[UUID, str, Outcome, Resolution | None] | None:
        """An open or settled conflict: its user, client, outcome and resolution."""
        ...

    def resolve(self, resolution: Resolution) -> Resolution:
        """Record the resolution, unless the conflict has one: then that one (replayed)."""
        ...
