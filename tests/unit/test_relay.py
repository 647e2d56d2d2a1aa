from __future__ import annotations

import threading
import time
from datetime import date
from uuid import uuid4

import pytest

from streams.outbox import OutboxBatch, OutboxMessage, OutboxReader
from streams.pacing import Pacer
from streams.position import START, LogPosition
from streams.relay import RELAY_POSITION, LockLostError, Relay
from write_side.context import CommandContext
from write_side.event_store import EventStore
from write_side.trips.commands import AddDestination, PlanTrip, UpdateTripDetails
from write_side.trips.planner import TripPlanner


class RecordingPublisher:
    def __init__(self, fail: bool = False) -> None:
        self.published: list[OutboxMessage] = []
        self.fail = fail

    def publish(self, messages: list[OutboxMessage]) -> None:
        if self.fail:
            raise ConnectionError("broker unreachable")
        self.published.extend(messages)


class MemoryPositions:
    def __init__(self) -> None:
        self.positions: dict[str, LogPosition] = {}
        self.holds_lock = True
        self.reacquired = 0

    def load(self, name: str) -> LogPosition:
        return self.positions.get(name, START)

    def save(self, name: str, position: LogPosition) -> None:
        if not self.holds_lock:
            raise LockLostError("lost the relay lock")
        self.positions[name] = position

    def reacquire(self, stop: threading.Event) -> None:
        self.reacquired += 1
        self.holds_lock = True


def planner_with_history(trips: int) -> TripPlanner:
    planner = TripPlanner(EventStore())
    context = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    for n in range(trips):
        trip = planner.plan_trip(PlanTrip(f"T{n}", "", date(2027, 1, 1), date(2027, 1, 9)), context)
        planner.add_destination(
            AddDestination(
                trip.trip_id,
                "Rome",
                "",
                {"lat": 41.9, "lng": 12.5},
                date(2027, 1, 2),
                date(2027, 1, 3),
            ),
            context,
        )
        planner.update_trip_details(UpdateTripDetails(trip.trip_id, title=f"T{n}!"), context)
    return planner


def test_the_relay_publishes_everything_in_log_order_and_records_where_it_got_to() -> None:
    planner = planner_with_history(trips=3)  # 3 x (3 trip events + 1 index) = 12 notifications
    publisher, positions = RecordingPublisher(), MemoryPositions()
    relay = Relay(OutboxReader(planner.events), publisher, positions, batch_size=5)

    covered = []
    while (n := relay.relay_once()) > 0:
        covered.append(n)

    assert covered == [5, 5, 2]
    assert positions.load(RELAY_POSITION) == LogPosition(0, 12)
    assert [m.position for m in publisher.published] == sorted(
        m.position for m in publisher.published
    )
    per_trip: dict[object, list[int]] = {}
    for message in publisher.published:
        per_trip.setdefault(message.key, []).append(message.event.aggregate_version)
    assert list(per_trip.values()) == [[1, 2, 3]] * 3


def test_the_position_does_not_move_unless_the_broker_acknowledged() -> None:
    planner = planner_with_history(trips=1)
    positions = MemoryPositions()
    with pytest.raises(ConnectionError):
        Relay(OutboxReader(planner.events), RecordingPublisher(fail=True), positions).relay_once()
    assert positions.load(RELAY_POSITION) == START

    publisher = RecordingPublisher()
    Relay(OutboxReader(planner.events), publisher, positions).relay_once()
    assert [m.event.aggregate_version for m in publisher.published] == [1, 2, 3]
    assert positions.load(RELAY_POSITION) == LogPosition(0, 4)


def test_a_restarted_relay_resumes_after_its_recorded_position() -> None:
    planner = planner_with_history(trips=2)
    positions = MemoryPositions()
    first = RecordingPublisher()
    Relay(OutboxReader(planner.events), first, positions, batch_size=4).relay_once()
    second = RecordingPublisher()
    Relay(OutboxReader(planner.events), second, positions, batch_size=100).relay_once()
    assert {m.position for m in first.published}.isdisjoint(m.position for m in second.published)
    assert len(first.published) + len(second.published) == 6


class FlakyPublisher(RecordingPublisher):
    """Fails its first `failures` batches, as a broker that is briefly unreachable."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def publish(self, messages: list[OutboxMessage]) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("broker unreachable")
        super().publish(messages)


def test_a_running_relay_retries_a_failed_batch_until_the_broker_is_back() -> None:
    planner = planner_with_history(trips=2)
    publisher, positions = FlakyPublisher(failures=2), MemoryPositions()
    relay = Relay(OutboxReader(planner.events), publisher, positions, pacer=Pacer(0.001, 0.001))
    stop = threading.Event()
    runner = threading.Thread(target=relay.run, args=(stop,))
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while positions.load(RELAY_POSITION) < LogPosition(0, 8) and time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        stop.set()
        runner.join(timeout=10)
    assert publisher.failures == 0
    assert positions.load(RELAY_POSITION) == LogPosition(0, 8)
    assert [m.event.aggregate_version for m in publisher.published] == [1, 2, 3] * 2


def test_a_relay_that_lost_its_lock_records_nothing_until_it_has_it_again() -> None:
    planner = planner_with_history(trips=2)
    publisher, positions = RecordingPublisher(), MemoryPositions()
    positions.holds_lock = False
    relay = Relay(OutboxReader(planner.events), publisher, positions, pacer=Pacer(0.001, 0.001))
    with pytest.raises(LockLostError):
        relay.relay_once()
    assert positions.load(RELAY_POSITION) == START  # published, but the position did not move

    stop = threading.Event()
    runner = threading.Thread(target=relay.run, args=(stop,))
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while positions.load(RELAY_POSITION) < LogPosition(0, 8) and time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        stop.set()
        runner.join(timeout=10)
    assert positions.reacquired == 1
    assert positions.load(RELAY_POSITION) == LogPosition(0, 8)


class PairedLog:
    """A log whose positions are (transaction id, notification id) pairs, as PostgreSQL's:
    one batch, of a transaction that committed after a higher id was read."""

    def __init__(self, message: OutboxMessage) -> None:
        self.message = message
        self.reads: list[LogPosition] = []

    def read_after(self, position: LogPosition, limit: int) -> OutboxBatch:
        self.reads.append(position)
        if position < self.message.position:
            return OutboxBatch([self.message], self.message.position, read=2)
        return OutboxBatch([], position, read=0)


def test_the_relay_counts_what_it_read_and_records_the_pair_even_when_ids_go_down() -> None:
    (message, *_) = OutboxReader(planner_with_history(trips=1).events).read_after(START, 1).messages
    late = OutboxMessage(LogPosition(7, 2), message.topic, message.key, message.event)
    source, publisher, positions = PairedLog(late), RecordingPublisher(), MemoryPositions()
    positions.save(RELAY_POSITION, LogPosition(5, 9))
    relay = Relay(source, publisher, positions)

    assert relay.relay_once() == 2  # a count, not 2 - 9
    assert positions.load(RELAY_POSITION) == LogPosition(7, 2)
    assert relay.relay_once() == 0
    assert source.reads == [LogPosition(5, 9), LogPosition(7, 2)]
    assert publisher.published == [late]


class HeldBackLog:
    """A log whose next event is committed but not readable for a few reads (an older
    transaction is still open), then readable."""

    def __init__(self, message: OutboxMessage, held_for: int) -> None:
        self.message = message
        self.held_for = held_for

    def read_after(self, position: LogPosition, limit: int) -> OutboxBatch:
        if position >= self.message.position:
            return OutboxBatch([], position, read=0)
        if self.held_for > 0:
            self.held_for -= 1
            return OutboxBatch([], position, read=0, waiting=True)
        return OutboxBatch([self.message], self.message.position, read=1)


class NoNotices:
    """New-event notices that never come: a relay waiting on them would sleep its longest.
    Records how much had been published at each wait."""

    def __init__(self, publisher: RecordingPublisher) -> None:
        self.publisher = publisher
        self.published_at_waits: list[int] = []

    def wait(self, timeout: float) -> None:
        self.published_at_waits.append(len(self.publisher.published))
        time.sleep(timeout)


def test_a_relay_held_back_by_an_open_transaction_looks_again_without_a_notice() -> None:
    (message, *_) = OutboxReader(planner_with_history(trips=1).events).read_after(START, 1).messages
    late = OutboxMessage(LogPosition(9, 1), message.topic, message.key, message.event)
    publisher, positions = RecordingPublisher(), MemoryPositions()
    notices = NoNotices(publisher)
    relay = Relay(
        HeldBackLog(late, held_for=3),
        publisher,
        positions,
        new_events=notices,
        pacer=Pacer(0.001, 60.0),
    )
    stop = threading.Event()
    runner = threading.Thread(target=relay.run, args=(stop,))
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while not publisher.published and time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        stop.set()
        runner.join(timeout=10)
    assert publisher.published == [late]
    # It polled while the event waited, instead of sleeping until a notice.
    assert 0 not in notices.published_at_waits
