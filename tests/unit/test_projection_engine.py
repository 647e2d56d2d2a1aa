"""The projection engine's rules, on an in-memory store: fold once per batch, skip what was
applied, fill gaps from the event store, retry failures in place, park poison per aggregate
(with the events behind it) and let every other aggregate flow."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from projections.engine.applier import Applier, RetryPolicy
from projections.engine.ports import Delivery
from projections.trip_views import TRIP_VIEWS
from read_side.documents import TripDocument
from streams.contracts import EventEnvelope
from tests.builders import destination_added, details_updated, trip_created
from tests.fakes import InMemoryProjectionStore
from tests.faults import failing_on, titled_poison

pytestmark = pytest.mark.anyio


class Sleeps:
    def __init__(self) -> None:
        self.taken: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.taken.append(seconds)


class StoredEvents:
    """An event source holding given events (the event store, for gap filling)."""

    def __init__(self, *events: EventEnvelope) -> None:
        self.events = list(events)
        self.reads = 0

    def events_of(self, aggregate_id: UUID, after_version: int) -> list[EventEnvelope]:
        self.reads += 1
        return [
            e
            for e in self.events
            if e.aggregate_id == aggregate_id and e.aggregate_version > after_version
        ]


def delivered(*events: EventEnvelope) -> list[Delivery]:
    return [Delivery(e.aggregate_id, e.aggregate_version, e) for e in events]


def trip_history(trip_id: UUID, owner: UUID, *titles: str) -> list[EventEnvelope]:
    return [
        trip_created(trip_id, owner),
        *(details_updated(trip_id, n, owner, title) for n, title in enumerate(titles, start=2)),
    ]


@pytest.fixture
def store() -> InMemoryProjectionStore[TripDocument]:
    return InMemoryProjectionStore()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def state(store: InMemoryProjectionStore[TripDocument], trip_id: UUID) -> TripDocument:
    return store.tables.states[trip_id]


async def test_each_aggregate_of_a_batch_is_folded_and_stored_in_one_transaction(store) -> None:
    a, b, owner = uuid4(), uuid4(), uuid4()
    events = [*trip_history(a, owner, "A2", "A3"), *trip_history(b, owner, "B2")]
    outcome = await Applier(TRIP_VIEWS, store).apply(delivered(*events))
    assert (outcome.applied, outcome.parked, store.commits) == (5, 0, 1)
    assert (state(store, a)["title"], state(store, a)["version"]) == ("A3", 3)
    assert (state(store, b)["title"], state(store, b)["version"]) == ("B2", 2)


async def test_redelivered_events_are_skipped_and_change_nothing(store) -> None:
    trip_id, owner = uuid4(), uuid4()
    events = trip_history(trip_id, owner, "v2", "v3")
    applier = Applier(TRIP_VIEWS, store)
    await applier.apply(delivered(*events))
    before = dict(state(store, trip_id))
    again = await applier.apply(delivered(events[1], events[0], events[2], events[1]))
    assert again.applied == 0
    assert state(store, trip_id) == before


async def test_a_gap_is_filled_from_the_event_store(store) -> None:
    trip_id, owner = uuid4(), uuid4()
    events = trip_history(trip_id, owner, "v2", "v3", "v4")
    source = StoredEvents(*events)
    applier = Applier(TRIP_VIEWS, store, source)
    await applier.apply(delivered(events[0]))
    outcome = await applier.apply(delivered(events[3]))  # v2 and v3 never arrived
    assert outcome.applied == 3 and source.reads == 1
    assert (state(store, trip_id)["version"], state(store, trip_id)["title"]) == (4, "v4")


async def test_a_failing_event_is_retried_in_place_then_parked_with_those_behind_it(
    store, sleeps
) -> None:
    sick, healthy, owner = uuid4(), uuid4(), uuid4()
    poisoned = failing_on(TRIP_VIEWS, titled_poison)
    applier = Applier(poisoned, store, None, RetryPolicy(attempts=3, backoff=0.1), sleep=sleeps)
    batch = [
        *trip_history(sick, owner, "fine", "POISON", "after"),
        *trip_history(healthy, owner, "ok"),
    ]

    outcome = await applier.apply(delivered(*batch))

    assert sleeps.taken == [0.1, 0.2]  # three tries, backing off
    assert outcome.parked_aggregates == [sick]
    assert state(store, healthy)["title"] == "ok"  # the other trip flowed
    assert (state(store, sick)["version"], state(store, sick)["title"]) == (2, "fine")
    assert store.parked() == {sick}
    failed, waiting = store.letters()
    assert (failed.aggregate_version, failed.failed, failed.attempts) == (3, True, 3)
    assert "injected fault" in failed.error
    assert (waiting.aggregate_version, waiting.failed) == (4, False)

    # Later events of the parked trip wait behind it, without being tried.
    more = await applier.apply(delivered(details_updated(sick, 5, owner, "later")))
    assert more.parked == 1 and len(sleeps.taken) == 2
    assert [letter.aggregate_version for letter in store.letters()] == [3, 4, 5]
    assert state(store, sick)["version"] == 2


async def test_a_failure_that_clears_within_the_tries_parks_nothing(store, sleeps) -> None:
    trip_id, owner = uuid4(), uuid4()
    # The cause clears with time: after the engine waited twice.
    flaky = failing_on(TRIP_VIEWS, lambda e: titled_poison(e) and len(sleeps.taken) < 2)
    applier = Applier(flaky, store, None, RetryPolicy(attempts=3), sleep=sleeps)
    outcome = await applier.apply(delivered(*trip_history(trip_id, owner, "POISON then fine")))
    assert outcome.parked == 0 and len(sleeps.taken) == 2
    assert state(store, trip_id)["version"] == 2


async def test_a_store_outage_is_waited_out_without_parking(store, sleeps) -> None:
    trip_id, owner = uuid4(), uuid4()
    store.outages = 4
    applier = Applier(TRIP_VIEWS, store, None, RetryPolicy(attempts=1), sleep=sleeps)
    outcome = await applier.apply(delivered(*trip_history(trip_id, owner, "v2")))
    assert (outcome.applied, outcome.parked) == (2, 0)
    assert len(sleeps.taken) == 4 and store.letters() == []


async def test_a_state_the_store_refuses_parks_its_aggregate_only(store, sleeps) -> None:
    bad, good, owner = uuid4(), uuid4(), uuid4()
    store.refuse = lambda document: "\x00" in document["title"]
    applier = Applier(TRIP_VIEWS, store, None, RetryPolicy(attempts=2), sleep=sleeps)
    batch = [*trip_history(bad, owner, "nul\x00"), *trip_history(good, owner, "fine")]
    outcome = await applier.apply(delivered(*batch))
    assert outcome.parked_aggregates == [bad]
    assert state(store, good)["title"] == "fine"
    assert bad not in store.tables.states  # its first event was refused with the batch
    (first, second) = store.letters()
    assert (first.aggregate_version, first.failed) == (1, True)
    assert "refused" in first.error and (second.aggregate_version, second.failed) == (2, False)


async def test_an_unreadable_message_parks_its_aggregate(store, sleeps) -> None:
    trip_id, owner = uuid4(), uuid4()
    created = trip_created(trip_id, owner)
    garbage = Delivery(trip_id, 2, None, payload=b"{not json", unreadable="JSONDecodeError: x")
    applier = Applier(TRIP_VIEWS, store, None, RetryPolicy(attempts=1), sleep=sleeps)
    outcome = await applier.apply([*delivered(created), garbage])
    assert outcome.parked_aggregates == [trip_id]
    assert state(store, trip_id)["version"] == 1
    (letter,) = store.letters()
    assert (letter.event_type, letter.payload) == ("unreadable", b"{not json")


async def test_replay_applies_a_parked_aggregate_from_the_event_store(store, sleeps) -> None:
    trip_id, owner = uuid4(), uuid4()
    events = trip_history(trip_id, owner, "POISON", "after")
    broken = True
    poisoned = failing_on(TRIP_VIEWS, lambda e: titled_poison(e) and broken)
    applier = Applier(poisoned, store, StoredEvents(*events), RetryPolicy(attempts=1), sleep=sleeps)
    await applier.apply(delivered(*events))
    assert store.parked() == {trip_id}

    async with store.batch() as batch:  # the fault persists: still parked, nothing lost
        failure = await applier.replay(trip_id, batch)
    assert failure is not None and store.parked() == {trip_id}

    broken = False
    async with store.batch() as batch:
        assert await applier.replay(trip_id, batch) is None
    assert store.parked() == set() and store.letters() == []
    assert (state(store, trip_id)["version"], state(store, trip_id)["title"]) == (3, "after")


async def test_skipped_versions_are_passed_over_and_the_state_rebuilt_without_them(store) -> None:
    trip_id, owner = uuid4(), uuid4()
    events = trip_history(trip_id, owner, "POISON", "after")
    applier = Applier(
        failing_on(TRIP_VIEWS, titled_poison),
        store,
        StoredEvents(*events),
        skipped={trip_id: frozenset({2})},
    )
    async with store.batch() as batch:
        assert await applier.replay(trip_id, batch, from_scratch=True) is None
    assert (state(store, trip_id)["version"], state(store, trip_id)["title"]) == (3, "after")


async def test_a_trip_projected_in_one_batch_equals_one_projected_event_by_event(store) -> None:
    trip_id, owner = uuid4(), uuid4()
    kyoto, osaka = uuid4(), uuid4()
    events = [
        trip_created(trip_id, owner),
        destination_added(trip_id, 2, owner, osaka, "Osaka"),
        destination_added(trip_id, 3, owner, kyoto, "Kyoto"),
        details_updated(trip_id, 4, owner, "Japan"),
    ]
    await Applier(TRIP_VIEWS, store).apply(delivered(*events))
    one_by_one: InMemoryProjectionStore[TripDocument] = InMemoryProjectionStore()
    for event in events:
        await Applier(TRIP_VIEWS, one_by_one).apply(delivered(event))
    assert state(store, trip_id) == one_by_one.tables.states[trip_id]
