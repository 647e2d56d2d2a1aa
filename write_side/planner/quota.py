"""Each user's daily allowance of drafts: one aggregate per user and UTC day. A job charges
it when it starts and refunds it when it fails through no fault of the user. Charging and
refunding are keyed by the draft, so a job resumed after a crash is charged once; two jobs
charging at once are ordered by the aggregate's version (the loser loads and tries again)."""

from __future__ import annotations

from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event
from eventsourcing.persistence import IntegrityError

from write_side.context import CommandContext, acting_as
from write_side.event_store import EventStore
from write_side.planner.errors import QuotaExceededError
from write_side.traced_aggregate import TracedAggregate

ATTEMPTS = 5  # saves lost to a concurrent charge before giving up


class DraftQuota(TracedAggregate):
    @event("Opened")
    def __init__(self, user_id: UUID, day: date) -> None:
        self.user_id = user_id
        self.day = day
        self.charged: list[UUID] = []

    @staticmethod
    def create_id(user_id: UUID, day: date) -> UUID:
        return quota_id(user_id, day)

    @event("Charged")
    def charge(self, draft_id: UUID) -> None:
        self.charged.append(draft_id)

    @event("Refunded")
    def refund(self, draft_id: UUID) -> None:
        self.charged.remove(draft_id)


def quota_id(user_id: UUID, day: date) -> UUID:
    return uuid5(NAMESPACE_URL, f"/planner-quota/{user_id}/{day.isoformat()}")


class Quotas:
    def __init__(self, events: EventStore, limit: int) -> None:
        self._events = events
        self.limit = limit

    def used(self, user_id: UUID, day: date) -> int:
        quota = self._events.find(quota_id(user_id, day), DraftQuota)
        return 0 if quota is None else len(quota.charged)

    def check(self, user_id: UUID, day: date) -> None:
        """Refuse a new request of someone whose allowance is used up (the job charges it)."""
        if self.used(user_id, day) >= self.limit:
            raise QuotaExceededError(self.limit)

    def charge(self, user_id: UUID, day: date, draft_id: UUID, context: CommandContext) -> None:
        """Charge one draft once; QuotaExceededError when none is left."""
        for _ in range(ATTEMPTS):
            quota = self._events.find(quota_id(user_id, day), DraftQuota)
            with acting_as(context):
                if quota is None:
                    quota = DraftQuota(user_id=user_id, day=day)
                if draft_id in quota.charged:
                    return
                if len(quota.charged) >= self.limit:
                    raise QuotaExceededError(self.limit)
                quota.charge(draft_id=draft_id)
            try:
                self._events.save(quota)
                return
            except IntegrityError:
                continue  # another charge won the version: look again
        raise QuotaExceededError(self.limit)

    def refund(self, user_id: UUID, day: date, draft_id: UUID, context: CommandContext) -> None:
        for _ in range(ATTEMPTS):
            quota = self._events.find(quota_id(user_id, day), DraftQuota)
            if quota is None or draft_id not in quota.charged:
                return
            with acting_as(context):
                quota.refund(draft_id=draft_id)
            try:
                self._events.save(quota)
                return
            except IntegrityError:
                continue
        raise RuntimeError(f"could not refund draft {draft_id} after {ATTEMPTS} tries")
