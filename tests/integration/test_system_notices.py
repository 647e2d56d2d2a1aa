"""Operational notices on `system-notifications`, over a real Tansu broker: what the relay,
the keys command and rebuilds publish, readable by their contracts; a broker that cannot
take one does not stop the work it reports."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from kafka import KafkaConsumer, TopicPartition

from infra.kafka import create_topics
from infra.system_notices import SystemNotices
from streams import system_contracts as s
from streams.topics import SYSTEM_NOTIFICATIONS
from tests.services import free_port, tansu_broker


@pytest.fixture
def broker() -> Iterator[str]:
    with tansu_broker() as bootstrap:
        create_topics(bootstrap, 2, 1)
        yield bootstrap


def _notices(bootstrap: str) -> list[tuple[bytes, dict[str, bytes], s.SystemNotice]]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, consumer_timeout_ms=2000)
    try:
        partitions = [TopicPartition(SYSTEM_NOTIFICATIONS, p) for p in range(2)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        return [(r.key, dict(r.headers), s.parse_system_notice(r.value)) for r in consumer]
    finally:
        consumer.close()


def test_notices_are_published_keyed_by_subject_with_their_headers(
    broker: str, tmp_path: Path
) -> None:
    notices = SystemNotices(broker)
    try:
        notices.projection_rebuilt("trip_views", 3, events=1200, parked=0, seconds=1.5)
        notices.relay_took_over(41)
    finally:
        notices.close()
    rotated = subprocess.run(
        [str(Path(sys.executable).with_name("itinera")), "keys", "rotate"],
        env={
            **os.environ,
            "ITINERA_KEYS_DIR": str(tmp_path / "keys"),
            "ITINERA_KAFKA_BOOTSTRAP_SERVERS": broker,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rotated.returncode == 0, rotated.stderr

    found = sorted(_notices(broker), key=lambda n: n[2].occurred_at)
    assert [(key, type(notice)) for key, _, notice in found] == [
        (b"trip_views", s.ProjectionRebuilt),
        (b"relay", s.RelayTookOver),
        (b"signing-keys", s.SigningKeyRotated),
    ]
    rebuilt, relay, key = (notice for _, _, notice in found)
    assert isinstance(rebuilt, s.ProjectionRebuilt) and rebuilt.payload.events == 1200
    assert isinstance(relay, s.RelayTookOver) and relay.payload.position == 41
    assert isinstance(key, s.SigningKeyRotated) and key.payload.kid in rotated.stdout
    for _, headers, notice in found:
        assert headers["event_type"] == notice.event_type.encode()
        assert headers["event_id"] == str(notice.event_id).encode()
        assert headers["content-type"] == b"application/json"


def test_a_broker_that_cannot_take_a_notice_is_logged_and_the_work_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    notices = SystemNotices(f"127.0.0.1:{free_port()}")  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="infra.system_notices"):
        notices.projection_parked("trip_views", uuid4(), 3, 2, "ValueError: boom\nmore")
    notices.close()
    assert "ProjectionParked about trip_views not published" in caplog.text
