"""Combined inserts on a real PostgreSQL (infra/postgres/combined_inserts.py, used by the
ordered recorder): appends made while an insert is held up go in one transaction, each
answered with its own notification ids; one whose version is taken fails alone, the others
are stored; and when the reply to a combined statement that committed is lost, each append
finds its own events and none is stored twice; while the table is locked, they fail after
one lock timeout, together."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent

from infra.database import build_event_store, prepare_database
from infra.postgres.combined_inserts import CombinedInserts
from infra.postgres.ordered_recorder import (
    EventStoreBusyError,
    OrderedPostgresApplicationRecorder,
    _insert_once,
)
from infra.settings import Settings
from tests.waiting import eventually
from write_side.event_store import EventStore

pytestmark = pytest.mark.integration

TABLE = "itinera_events"
Answer = Future[Sequence[int] | None]


@pytest.fixture
def store(database_url: str) -> Iterator[EventStore]:
    settings = Settings(database_url=database_url)
    prepare_database(settings)
    events = build_event_store(settings)
    yield events
    events.close()


def recorder_of(store: EventStore) -> OrderedPostgresApplicationRecorder:
    recorder = store.recorder
    assert isinstance(recorder, OrderedPostgresApplicationRecorder)
    return recorder


def new_events(count: int = 1, aggregate: UUID | None = None) -> list[StoredEvent]:
    aggregate = aggregate or uuid4()
    return [StoredEvent(aggregate, v, "test:Event", b'{"v": %d}' % v) for v in range(1, count + 1)]


def stored(database_url: str, appended: list[StoredEvent]) -> list[tuple[int, int, bytes]]:
    """(notification id, transaction id, state) of each of these events as stored."""
    with psycopg.connect(database_url) as conn:
        rows = []
        for event in appended:
            row = conn.execute(
                f"SELECT notification_id, transaction_id::text::bigint, state FROM {TABLE}"
                " WHERE originator_id = %s AND originator_version = %s",
                (event.originator_id, event.originator_version),
            ).fetchall()
            assert len(row) == 1, f"{event.originator_id} v{event.originator_version}: {row}"
            rows.append((int(row[0][0]), int(row[0][1]), bytes(row[0][2])))
    return rows


def queued_behind_a_held_insert(
    database_url: str,
    recorder: OrderedPostgresApplicationRecorder,
    appends: list[list[StoredEvent]],
) -> tuple[Answer, list[Answer], ThreadPoolExecutor]:
    """A first append held up in PostgreSQL by a table lock, `appends` made meanwhile (they
    wait for it in the process), then the lock released."""
    pool = ThreadPoolExecutor(len(appends) + 1)
    with psycopg.connect(database_url) as holder:
        holder.execute(f"LOCK TABLE {TABLE} IN EXCLUSIVE MODE")
        first = pool.submit(recorder.insert_events, new_events())

        def first_held() -> None:
            waiting = holder.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass",
                (TABLE,),
            ).fetchone()
            assert waiting is not None and waiting[0] == 1

        eventually(first_held)
        later = [pool.submit(recorder.insert_events, events) for events in appends]

        def all_waiting() -> None:
            assert recorder._combined.waiting == len(appends)

        eventually(all_waiting)
        holder.rollback()  # the lock goes: the first commits, then the others together
    return first, later, pool


def test_appends_made_while_an_insert_is_held_up_commit_together_each_with_its_ids(
    database_url: str, store: EventStore
) -> None:
    appends = [new_events(1), new_events(3), new_events(2)]
    first, later, pool = queued_behind_a_held_insert(database_url, recorder_of(store), appends)
    with pool:
        first_ids = first.result(30)
        answers = [future.result(30) for future in later]
    assert first_ids is not None and len(first_ids) == 1
    transactions = set()
    for ids, events in zip(answers, appends, strict=True):
        rows = stored(database_url, events)
        assert ids == [notification_id for notification_id, _, _ in rows]
        transactions |= {transaction for _, transaction, _ in rows}
    assert len(transactions) == 1  # one statement, one transaction for the three


def test_an_append_whose_version_is_taken_fails_alone_and_the_others_are_stored(
    database_url: str, store: EventStore
) -> None:
    recorder = recorder_of(store)
    taken = new_events(1)
    recorder.insert_events(taken)
    clashing = [StoredEvent(taken[0].originator_id, 1, "test:Event", b'{"other": true}')]
    appends = [new_events(2), clashing, new_events(1)]
    first, later, pool = queued_behind_a_held_insert(database_url, recorder, appends)
    with pool:
        assert first.result(30) is not None
        with pytest.raises(IntegrityError):
            later[1].result(30)
        for index in (0, 2):
            ids = later[index].result(30)
            rows = stored(database_url, appends[index])
            assert ids == [notification_id for notification_id, _, _ in rows]
    assert [state for _, _, state in stored(database_url, taken)] == [taken[0].state]


def test_when_the_reply_to_a_combined_commit_is_lost_each_append_finds_its_own_events(
    database_url: str, store: EventStore
) -> None:
    recorder = recorder_of(store)
    statements: list[int] = []

    def reply_lost_after_a_combined_commit(events: Sequence[StoredEvent]) -> Sequence[int] | None:
        ids: Sequence[int] | None = _insert_once(recorder, events)  # committed on the server
        statements.append(len(events))
        if len(statements) == 2:  # the combined one: its reply never comes
            raise OperationalError("server closed the connection unexpectedly")
        return ids

    recorder._combined = CombinedInserts(reply_lost_after_a_combined_commit)
    appends = [new_events(1), new_events(2), new_events(1)]
    first, later, pool = queued_behind_a_held_insert(database_url, recorder, appends)
    with pool:
        assert first.result(30) is not None
        answers = [future.result(30) for future in later]
    assert statements == [1, 4]  # nothing sent a second time: each found its events stored
    for ids, events in zip(answers, appends, strict=True):
        rows = stored(database_url, events)  # each stored once, as given
        assert ids == [notification_id for notification_id, _, _ in rows]
        assert [state for _, _, state in rows] == [e.state for e in events]


def test_appends_combined_while_the_table_is_locked_fail_fast_with_the_lock_timeout(
    database_url: str,
) -> None:
    settings = Settings(database_url=database_url, event_store_lock_timeout=2)
    prepare_database(settings)
    store = build_event_store(settings)
    recorder = recorder_of(store)
    pool = ThreadPoolExecutor(4)
    try:
        with psycopg.connect(database_url) as holder:
            holder.execute(f"LOCK TABLE {TABLE} IN EXCLUSIVE MODE")  # a schema change, say
            started = time.monotonic()
            first = pool.submit(recorder.insert_events, new_events())
            later = [pool.submit(recorder.insert_events, new_events()) for _ in range(3)]

            def all_waiting() -> None:
                assert recorder._combined.waiting == 3

            eventually(all_waiting, timeout=1.5)  # before the first one's lock timeout
            for future in [first, *later]:
                with pytest.raises(EventStoreBusyError, match="lock timeout"):
                    future.result(30)
            waited = time.monotonic() - started
            holder.rollback()
        # The first one's timeout, then the three together's (4 s): not each again alone (6 s).
        assert waited < 5
        assert recorder.insert_events(new_events()) is not None  # the lock gone, all is well
    finally:
        pool.shutdown()
        store.close()
