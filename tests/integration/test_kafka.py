"""The Kafka adapters against a real Kafka-protocol broker (a private Tansu per test)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import uuid4

import pytest
from kafka import KafkaConsumer, TopicPartition

from infra.kafka import KafkaBatchPublisher, create_topics, partition_counts
from streams.contracts import parse_trip_event
from streams.outbox import OutboxReader
from streams.position import START
from streams.topics import (
    ALL_TOPICS,
    ANALYTICS_EVENTS,
    CHAT_EVENTS,
    PLANNER_EVENTS,
    SYSTEM_NOTIFICATIONS,
    TRIP_EVENTS,
    USER_EVENTS,
    PartitionCountMismatchError,
    check_partition_counts,
)
from tests.services import tansu_broker
from tests.waiting import eventually
from write_side.context import CommandContext
from write_side.event_store import EventStore
from write_side.trips.commands import PlanTrip, UpdateTripDetails
from write_side.trips.planner import TripPlanner


@pytest.fixture
def broker() -> Iterator[str]:
    with tansu_broker() as bootstrap:
        yield bootstrap


def test_topics_are_created_once_with_the_configured_partitions(broker: str) -> None:
    assert partition_counts(broker) == dict.fromkeys(ALL_TOPICS)
    retention = dict.fromkeys(ALL_TOPICS, -1) | {SYSTEM_NOTIFICATIONS: 3_600_000}
    assert create_topics(broker, 3, 1, retention) == [
        TRIP_EVENTS,
        USER_EVENTS,
        CHAT_EVENTS,
        PLANNER_EVENTS,
        ANALYTICS_EVENTS,
        SYSTEM_NOTIFICATIONS,
    ]
    assert create_topics(broker, 3, 1) == []
    assert partition_counts(broker) == dict.fromkeys(ALL_TOPICS, 3)
    check_partition_counts(3, partition_counts(broker))
    with pytest.raises(PartitionCountMismatchError, match="has 3 partitions, configured: 4"):
        check_partition_counts(4, partition_counts(broker))


def test_the_relay_refuses_to_start_on_a_mismatched_topic(broker: str, database_url: str) -> None:
    create_topics(broker, 2, 1)
    env = {
        **os.environ,
        "ITINERA_DATABASE_URL": database_url,
        "ITINERA_KAFKA_BOOTSTRAP_SERVERS": broker,
        "ITINERA_TOPIC_PARTITIONS": "4",
    }
    relay = subprocess.run(
        [str(Path(sys.executable).with_name("itinera")), "relay"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert relay.returncode == 2
    assert "has 2 partitions, configured: 4" in relay.stderr


def test_published_batches_are_acknowledged_keyed_by_trip_and_in_order(broker: str) -> None:
    create_topics(broker, 4, 1)
    planner = TripPlanner(EventStore())
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    context = CommandContext(actor_id=uuid4(), correlation_id=uuid4(), traceparent=trace)
    trips = []
    for n in range(5):
        trip = planner.plan_trip(PlanTrip(f"T{n}", "", date(2027, 1, 1), date(2027, 1, 9)), context)
        for m in range(3):
            planner.update_trip_details(UpdateTripDetails(trip.trip_id, title=f"{m}"), context)
        trips.append(trip.trip_id)
    publisher = KafkaBatchPublisher(broker)
    try:
        reader = OutboxReader(planner.events)
        # Readable once no older transaction on the server is open.
        eventually(lambda: _assert(reader.backlog(reader.head()) == 0))
        publisher.publish(reader.read_after(START, 100).messages)
    finally:
        publisher.close()

    consumer = KafkaConsumer(bootstrap_servers=broker, group_id=None, consumer_timeout_ms=2000)
    partitions = [TopicPartition(TRIP_EVENTS, p) for p in range(4)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    seen: dict[object, list[tuple[int, int]]] = {}
    for record in consumer:
        event = parse_trip_event(record.value)
        assert record.key == str(event.aggregate_id).encode()
        headers = {name: value.decode() for name, value in record.headers}
        assert headers == {
            "event_type": event.event_type,
            "schema_version": str(event.schema_version),
            "content-type": "application/json",
            "correlation_id": str(context.correlation_id),
            "causation_id": str(context.correlation_id),  # a request's command: the request
            "event_id": str(event.event_id),
            "occurred_at": event.occurred_at.isoformat(),
            "traceparent": trace,
        }
        seen.setdefault(event.aggregate_id, []).append((record.partition, event.aggregate_version))
    consumer.close()
    assert set(seen) == set(trips)
    for records in seen.values():
        assert len({partition for partition, _ in records}) == 1
        assert [version for _, version in records] == [1, 2, 3, 4]


def _assert(condition: bool) -> None:
    assert condition
