"""Operational events to `system-notifications` (kafka-python): a projection parked or
rebuilt, a signing key rotated, a relay taking over.

They are signals for an operator's tooling, published at most once: a notice that cannot be
published is logged (with the reason) and the work it reports goes on. Only processes that
have Kafka publish them (distributed mode); embedded mode logs the same facts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from kafka.errors import KafkaError

from infra.kafka import LazyProducer
from streams import system_contracts as s
from streams.headers import message_headers
from streams.topics import SYSTEM_NOTIFICATIONS

log = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 5.0


class SystemNotices:
    def __init__(self, bootstrap_servers: str) -> None:
        timeout_ms = int(SEND_TIMEOUT_SECONDS * 1000)
        # A broker that does not answer costs a notice seconds, not minutes.
        self._producer = LazyProducer(
            bootstrap_servers,
            acks="all",
            client_id="itinera-system-notices",
            max_block_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,
            request_timeout_ms=timeout_ms,
            delivery_timeout_ms=timeout_ms,
        )
        self._host = f"{socket.gethostname()}:{os.getpid()}"

    def projection_parked(
        self, projection: str, aggregate_id: UUID, applied: int, letters: int, error: str
    ) -> None:
        payload = s.ProjectionParkedPayload(
            projection=projection,
            aggregate_id=aggregate_id,
            applied_version=applied,
            dead_letters=letters,
            error=error.splitlines()[0][:500] if error else "",
        )
        self._publish(s.ProjectionParked, projection, payload)

    async def projection_parked_async(
        self, projection: str, aggregate_id: UUID, applied: int, letters: int, error: str
    ) -> None:
        await asyncio.to_thread(
            self.projection_parked, projection, aggregate_id, applied, letters, error
        )

    def projection_rebuilt(
        self, projection: str, version: int, events: int, parked: int, seconds: float
    ) -> None:
        payload = s.ProjectionRebuiltPayload(
            projection=projection,
            version=version,
            events=events,
            parked=parked,
            seconds=round(seconds, 3),
        )
        self._publish(s.ProjectionRebuilt, projection, payload)

    def key_rotated(self, kid: str, signs_from: datetime) -> None:
        payload = s.SigningKeyRotatedPayload(kid=kid, signs_from=signs_from)
        self._publish(s.SigningKeyRotated, "signing-keys", payload)

    def relay_took_over(self, position: int) -> None:
        self._publish(s.RelayTookOver, "relay", s.RelayTookOverPayload(position=position))

    def _publish(self, kind: type[s.SystemNotice], subject: str, payload: Any) -> None:
        notice = kind.model_validate(
            {
                "event_id": uuid.uuid4(),
                "occurred_at": datetime.now(UTC),
                "subject": subject,
                "host": self._host,
                "payload": payload,
            }
        )
        try:
            self._producer.get().send(
                SYSTEM_NOTIFICATIONS,
                key=subject.encode(),
                value=notice.model_dump_json().encode(),
                headers=message_headers(
                    notice.event_type,
                    notice.schema_version,
                    notice.event_id,
                    notice.occurred_at,
                    notice.event_id,
                    notice.event_id,
                ),
            ).get(timeout=SEND_TIMEOUT_SECONDS)
        except KafkaError as error:
            log.warning(
                "system notice %s about %s not published: %r", kind.__name__, subject, error
            )

    def close(self) -> None:
        self._producer.close(timeout=SEND_TIMEOUT_SECONDS)
