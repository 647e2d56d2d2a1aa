"""`itinera relay`: the outbox relay (distributed mode)."""

from __future__ import annotations

import signal
import threading

from infra.cli.app import cli, load_settings
from infra.cli.roles import check_topics


@cli.command()
def relay() -> None:
    """Publish the event store's notification log to Kafka, in order, at least once."""
    from infra.database import build_event_store, prepare_database, require_database_url
    from infra.kafka import KafkaBatchPublisher
    from infra.postgres.notices import NewEventNotices
    from infra.postgres.ordered_recorder import notice_channel
    from infra.postgres.positions import PostgresPositionStore
    from infra.system_notices import SystemNotices
    from streams.outbox import OutboxReader
    from streams.pacing import Pacer
    from streams.relay import Relay

    settings = load_settings()
    check_topics(settings)
    prepare_database(settings)
    positions = PostgresPositionStore(require_database_url(settings))
    positions.wait_until_sole_relay()
    events = build_event_store(settings)
    publisher = KafkaBatchPublisher(settings.kafka_bootstrap_servers)
    notices = NewEventNotices(require_database_url(settings), notice_channel(events))
    system = SystemNotices(settings.kafka_bootstrap_servers)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        Relay(
            OutboxReader(events),
            publisher,
            positions,
            batch_size=settings.relay_batch_size,
            pacer=Pacer(slowest=settings.relay_poll_interval),
            new_events=notices,
            took_over=system.relay_took_over,
        ).run(stop)
    finally:
        system.close()
        notices.close()
        publisher.close()
        positions.close()
        events.close()
