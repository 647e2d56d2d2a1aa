"""The planner's domain errors (the API maps each to one status and code)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from write_side.errors import DomainError, InvariantError, NotFoundError


class DraftNotFoundError(NotFoundError):
    def __init__(self, draft_id: UUID) -> None:
        super().__init__(f"Itinerary draft {draft_id} not found")
        self.draft_id = draft_id


class DraftNotReadyError(DomainError):
    def __init__(self, status: str) -> None:
        super().__init__(f"The draft is {status}: only a ready draft can be accepted")
        self.status = status


class UnknownDraftItemError(InvariantError):
    def __init__(self, item_ids: Sequence[UUID]) -> None:
        names = ", ".join(str(i) for i in item_ids)
        super().__init__(f"The draft has no item {names}")
        self.item_ids = list(item_ids)


class QuotaExceededError(DomainError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The daily allowance of {limit} itinerary drafts is used up")
        self.limit = limit
