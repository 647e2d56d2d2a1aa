"""`itinera relay`: the outbox relay (distributed mode)."""

from __future__ import annotations

import signal
import threading
from types import FrameType

from infra.cli.app import cli, load_settings
from infra.cli.roles import check_topics, stop_anyway_after


@cli.command()
def relay() -> None:
    """Publish the event store's notification log to Kafka, in order, at least once."""
    from infra.database import build_event_store, prepare_database, require_database_url
    from infra.kafka import KafkaBatchPublisher
    from infra.observability.roles import RelayLagSampler, observe_role
    from infra.postgres.notices import NewEventNotices
    from infra.postgres.ordered_recorder import notice_channel
    from infra.postgres.positions import PostgresPositionStore
    from infra.system_notices import SystemNotices
    from streams.outbox import OutboxReader
    from streams.pacing import Pacer
    from streams.relay import Relay

    settings = load_settings()
    stopping = RelayStop(settings.shutdown_grace_seconds)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stopping.on_signal)
    # Served before the lock wait: a standby is healthy while it waits.
    endpoint = observe_role(settings, "relay")
    check_topics(settings)
    prepare_database(settings)
    positions = PostgresPositionStore(require_database_url(settings))
    positions.wait_until_sole_relay()
    events = build_event_store(settings)
    lag = RelayLagSampler(
        require_database_url(settings),
        events.recorder.events_table_name,  # type: ignore[attr-defined]
    ).start()
    publisher = KafkaBatchPublisher(settings.kafka_bootstrap_servers)
    notices = NewEventNotices(require_database_url(settings), notice_channel(events))
    system = SystemNotices(settings.kafka_bootstrap_servers)
    stopping.active = True
    try:
        Relay(
            OutboxReader(events),
            publisher,
            positions,
            batch_size=settings.relay_batch_size,
            pacer=Pacer(slowest=settings.relay_poll_interval),
            new_events=notices,
            took_over=system.relay_took_over,
        ).run(stopping.stop)
    finally:
        lag.close()
        if endpoint is not None:
            endpoint.close()
        system.close()
        notices.close()
        publisher.close()
        positions.close()
        events.close()


class RelayStop:
    """SIGTERM or Ctrl+C. Until the relay is active (starting, or a standby waiting for the
    lock) it holds nothing: it exits 0 at once. Active, it finishes the batch in hand
    (published, position saved) and exits 0; if that outlasts the grace, it exits at the
    grace with GRACE_EXCEEDED_EXIT_CODE, and the batch is published again by the next relay."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.active = False
        self.stop = threading.Event()

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        if not self.active:
            raise SystemExit(0)  # psycopg cancels a wait for the lock on the way out
        if not self.stop.is_set():
            self.stop.set()
            stop_anyway_after(self.grace)
