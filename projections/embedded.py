"""Embedded mode's projector: reads the event store's outbox in-process and applies the same
projection functions as the Faust worker, with no Kafka in between."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from projections.handler import ReadModels, apply_event
from streams.outbox import OutboxBatch

log = logging.getLogger(__name__)

POSITION_NAME = "embedded-projector"
RETRY_SECONDS = 5.0


class OutboxSource(Protocol):
    def read_after(self, position: int, limit: int) -> OutboxBatch: ...


class EmbeddedProjector:
    def __init__(
        self,
        source: OutboxSource,
        models: ReadModels,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.02,
    ) -> None:
        self._source = source
        self._models = models
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._position: int | None = None  # this process is the only writer of it

    async def catch_up(self) -> int:
        """Apply every notification recorded so far; returns how many were read."""
        total = 0
        while (read := await self.project_once()) > 0:
            total += read
        return total

    async def project_once(self) -> int:
        positions = self._models.trips
        if self._position is None:
            self._position = await positions.load_position(POSITION_NAME)
        position = self._position
        batch = await asyncio.to_thread(self._source.read_after, position, self._batch_size)
        for message in batch.messages:
            await apply_event(self._models, message.topic, message.event)
        if batch.last_position != position:
            await positions.save_position(POSITION_NAME, batch.last_position)
            self._position = batch.last_position
        return batch.last_position - position

    async def run(self) -> None:
        log.info("embedded projector running")
        while True:
            try:
                read = await self.project_once()
            except Exception:
                # Reads go stale until this is fixed; say so loudly and retry the same
                # position (nothing was skipped).
                log.exception("embedded projector failed; retrying in %.0f s", RETRY_SECONDS)
                self._position = None  # re-read what was committed
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if read == 0:
                await asyncio.sleep(self._poll_interval)
