"""The planner role (distributed mode): consumes `planner-events` in a consumer group and
runs the job of each draft asked for. Offsets are committed only after every job of a
polled batch has finished (made its outcome, or found it made), so a planner killed
mid-job leaves the request on the topic: the partition's next owner runs the job again,
and the job, idempotent by the draft's id, completes once.

A message that is not a planner event at all, or asks for a draft this event store does not
have, is logged and skipped (no job can come of it); a job that fails otherwise (a store
down) is retried in place until it passes or the role stops, without committing past it.

Stopping (`stopping` set) takes no new batch; the jobs already running go on to their
outcome, and the batch is committed if all of them reached one. Cancelled instead (the grace
ran out), the batch is left uncommitted for the partition's next owner.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

from kafka import KafkaConsumer

from streams.planner_contracts import ItineraryDraftRequested, parse_planner_event
from streams.topics import PLANNER_EVENTS
from write_side.planner.errors import DraftNotFoundError
from write_side.planner.jobs import DraftJobs

log = logging.getLogger(__name__)

RETRY_SECONDS = 2.0


def requested_drafts(records: list[Any]) -> list[UUID]:
    """The drafts asked for in a batch of messages, in order, each once."""
    found: dict[UUID, None] = {}
    for record in records:
        try:
            event = parse_planner_event(record.value)
        except ValueError:
            log.error(
                "planner-events %d@%d is not a planner event; skipped",
                record.partition,
                record.offset,
            )
            continue
        if isinstance(event, ItineraryDraftRequested):
            found[event.aggregate_id] = None
    return list(found)


class PlannerConsumer:
    def __init__(
        self,
        consumer_factory: Callable[[], KafkaConsumer],
        jobs: DraftJobs,
        *,
        concurrency: int,
    ) -> None:
        self._factory = consumer_factory
        self._jobs = jobs
        self._concurrency = concurrency
        self.stopping = threading.Event()

    async def run(self) -> None:
        consumer = await asyncio.to_thread(self._factory)
        consumer.subscribe([PLANNER_EVENTS])
        log.info("planner consuming %s", PLANNER_EVENTS)
        try:
            while not self.stopping.is_set():
                polled = await asyncio.to_thread(
                    consumer.poll, timeout_ms=500, max_records=self._concurrency
                )
                records = [r for batch in polled.values() for r in batch]
                if not records or self.stopping.is_set():
                    continue  # stopping: what was just polled is left to the next owner
                if await self._run_all(requested_drafts(records)):
                    await asyncio.to_thread(consumer.commit)
        finally:
            await asyncio.to_thread(consumer.close, autocommit=False)

    async def _run_all(self, drafts: list[UUID]) -> bool:
        """Whether every job reached its outcome (else the batch must not be committed)."""
        return all(await asyncio.gather(*(self._run(d) for d in drafts)))

    async def _run(self, draft_id: UUID) -> bool:
        while True:
            try:
                status = await self._jobs.run(draft_id)
            except DraftNotFoundError:
                log.error("itinerary draft %s is not in the event store; skipped", draft_id)
                return True
            except Exception:
                if self.stopping.is_set():
                    log.exception("itinerary draft %s could not be run; stopping", draft_id)
                    return False
                log.exception("itinerary draft %s could not be run; retrying", draft_id)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            log.info("itinerary draft %s: %s", draft_id, status.value)
            return True
