"""Kafka adapters (kafka-python): the relay's idempotent publisher, the analytics facts'
publisher, and topic provisioning."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError, UnknownTopicOrPartitionError

from infra.observability import metrics
from infra.observability.tracing import PublishSpans
from projections.engine.ports import TransientStoreError
from streams.analytics_contracts import Fact
from streams.contracts import serialize_event
from streams.headers import Cause, headers_of, message_headers
from streams.outbox import OutboxMessage
from streams.topics import ALL_TOPICS, ANALYTICS_EVENTS

ACK_TIMEOUT_SECONDS = 30


class KafkaBatchPublisher:
    def __init__(self, bootstrap_servers: str) -> None:
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap_servers,
            # Retries never duplicate or reorder within a partition.
            enable_idempotence=True,
            acks="all",
            linger_ms=2,
            client_id="itinera-relay",
        )

    def publish(self, messages: list[OutboxMessage]) -> None:
        spans = PublishSpans(messages)
        try:
            futures = [
                self._producer.send(
                    m.topic,
                    key=m.key,
                    value=serialize_event(m.event),
                    headers=headers_of(m.event, Cause(m.cause.causation_id, traceparent)),
                )
                for m, traceparent in zip(messages, spans.traceparents, strict=True)
            ]
            self._producer.flush(timeout=ACK_TIMEOUT_SECONDS)
            for future in futures:
                future.get(timeout=ACK_TIMEOUT_SECONDS)  # raises if the broker did not ack
        except BaseException as error:
            spans.end(error)
            raise
        spans.end()
        metrics.RELAY_PUBLISHED.inc(len(messages))
        metrics.RELAY_BATCH.observe(len(messages))

    def close(self) -> None:
        self._producer.close()


class KafkaFactPublisher:
    """Publishes a batch of analytics facts and returns once the broker acknowledged all of
    them; a broker it cannot reach is a transient failure (the batch is retried)."""

    def __init__(self, bootstrap_servers: str) -> None:
        self._producer = LazyProducer(
            bootstrap_servers,
            enable_idempotence=True,
            acks="all",
            linger_ms=2,
            client_id="itinera-analytics",
        )

    async def __call__(self, facts: Sequence[Fact]) -> None:
        try:
            await asyncio.to_thread(self._publish, facts)
        except KafkaError as error:
            raise TransientStoreError(f"analytics facts not acknowledged: {error!r}") from error

    def _publish(self, facts: Sequence[Fact]) -> None:
        producer = self._producer.get()
        futures = [
            producer.send(
                ANALYTICS_EVENTS,
                key=str(fact.trip_id).encode(),
                value=fact.model_dump_json().encode(),
                headers=message_headers(
                    fact.event_type,
                    fact.schema_version,
                    fact.event_id,
                    fact.occurred_at,
                    fact.correlation_id,
                    fact.source_event_id,
                ),
            )
            for fact in facts
        ]
        producer.flush(timeout=ACK_TIMEOUT_SECONDS)
        for future in futures:
            future.get(timeout=ACK_TIMEOUT_SECONDS)

    def close(self) -> None:
        self._producer.close()


class LazyProducer:
    """A KafkaProducer made at its first use (none at start, when the broker may be away),
    never auto-creating a topic: `itinera topics create` makes them with their settings."""

    def __init__(self, bootstrap_servers: str, **config: Any) -> None:
        self._config = {
            "bootstrap_servers": bootstrap_servers,
            "allow_auto_create_topics": False,
            **config,
        }
        self._producer: KafkaProducer | None = None
        self._opening = threading.Lock()

    def get(self) -> KafkaProducer:
        with self._opening:
            if self._producer is None:
                self._producer = KafkaProducer(**self._config)
            return self._producer

    def close(self, timeout: float | None = None) -> None:
        if self._producer is not None:
            self._producer.close(timeout=timeout)


def partition_counts(bootstrap_servers: str) -> dict[str, int | None]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="itinera-admin")
    try:
        counts: dict[str, int | None] = {}
        for topic in ALL_TOPICS:
            try:
                described = admin.describe_topics([topic])
            except UnknownTopicOrPartitionError:
                counts[topic] = None
                continue
            partitions = described[0].get("partitions") if described else None
            error = described[0].get("error_code", 0) if described else 0
            counts[topic] = len(partitions) if partitions and not error else None
        return counts
    finally:
        admin.close()


def create_topics(
    bootstrap_servers: str,
    partitions: int,
    replication_factor: int,
    retention_ms: Mapping[str, int] | None = None,
) -> list[str]:
    """Create missing topics (with their `retention.ms` when given); returns those created."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="itinera-admin")
    created = []
    try:
        for topic in ALL_TOPICS:
            try:
                admin.create_topics(
                    [
                        NewTopic(
                            topic,
                            num_partitions=partitions,
                            replication_factor=replication_factor,
                            topic_configs=_configs(topic, retention_ms or {}),
                        )
                    ]
                )
                created.append(topic)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        admin.close()


def _configs(topic: str, retention_ms: Mapping[str, int]) -> dict[str, str]:
    return {"retention.ms": str(retention_ms[topic])} if topic in retention_ms else {}
