"""The planner role's consumer without a broker: which messages make jobs, and which
failures are retried in place (the batch stays uncommitted) or skipped."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest

from infra.planner import consumer
from infra.planner.consumer import PlannerConsumer, requested_drafts
from streams.planner_contracts import ItineraryDraftRequested
from write_side.errors import EventStoreUnavailableError
from write_side.planner.draft import DraftStatus
from write_side.planner.errors import DraftNotFoundError


@dataclass
class Record:
    value: bytes
    partition: int = 0
    offset: int = 0


def requested(draft_id: UUID) -> bytes:
    event = ItineraryDraftRequested.model_validate(
        {
            "event_id": uuid4(),
            "aggregate_id": draft_id,
            "aggregate_version": 1,
            "occurred_at": "2027-05-01T10:00:00Z",
            "actor_id": uuid4(),
            "correlation_id": uuid4(),
            "payload": {
                "trip_id": uuid4(),
                "requested_by": uuid4(),
                "preferences": {
                    "interests": [],
                    "pace": "moderate",
                    "budget": None,
                    "currency": None,
                    "must_see": [],
                    "avoid": [],
                    "notes": "",
                },
                "trip_version": 3,
            },
        }
    )
    return event.model_dump_json().encode()


def test_each_requested_draft_makes_one_job_and_garbage_makes_none() -> None:
    one, two = uuid4(), uuid4()
    records = [Record(requested(one)), Record(b"not json"), Record(requested(two), offset=2)]
    records.append(Record(requested(one), offset=3))  # redelivered
    assert requested_drafts(records) == [one, two]


class Jobs:
    def __init__(self, *outcomes: Exception | DraftStatus) -> None:
        self.outcomes = list(outcomes)
        self.runs = 0

    async def run(self, draft_id: UUID) -> DraftStatus:
        self.runs += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def test_a_store_outage_is_retried_in_place_and_a_missing_draft_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(consumer, "RETRY_SECONDS", 0.0)
    down = EventStoreUnavailableError("down")
    flaky = Jobs(down, down, DraftStatus.READY)
    role = PlannerConsumer(lambda: None, flaky, concurrency=1)  # type: ignore[arg-type]
    asyncio.run(role._run(uuid4()))
    assert flaky.runs == 3
    missing = Jobs(DraftNotFoundError(uuid4()))
    role = PlannerConsumer(lambda: None, missing, concurrency=1)  # type: ignore[arg-type]
    asyncio.run(role._run(uuid4()))
    assert missing.runs == 1
