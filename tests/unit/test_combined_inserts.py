"""CombinedInserts with a fake insert: a lone append goes at once; appends made while an
insert is under way go together in the next, each answered with its own ids; a combined
statement that fails tells each of its appends, and the next appends still go."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from infra.postgres.combined_inserts import CombinedInsertFailed, CombinedInserts
from tests.waiting import eventually


def events(count: int) -> list[StoredEvent]:
    aggregate = uuid4()
    return [StoredEvent(aggregate, v, "topic", b"{}") for v in range(1, count + 1)]


class Database:
    """Numbers the events of each statement from the last id on; the first statement waits
    for `release` when `hold` is set; fails a statement while `failing` holds an error."""

    def __init__(self, *, hold: bool = False) -> None:
        self.statements: list[list[StoredEvent]] = []
        self.sending = threading.Event()  # the held statement is under way
        self.release = threading.Event()
        self.failing: Exception | None = None
        self._hold = hold
        self._next_id = 1

    def insert(self, stored: Sequence[StoredEvent]) -> list[int]:
        if self._hold:
            self._hold = False
            self.sending.set()
            assert self.release.wait(10)
        self.statements.append(list(stored))
        if self.failing is not None:
            raise self.failing
        ids = list(range(self._next_id, self._next_id + len(stored)))
        self._next_id += len(stored)
        return ids


Answer = Future[Sequence[int] | None]


def queue_behind_a_held_insert(
    database: Database, combined: CombinedInserts, pool: ThreadPoolExecutor, sizes: list[int]
) -> tuple[Answer, list[tuple[Answer, list[StoredEvent]]]]:
    """An insert under way (held), then appends of `sizes` events made meanwhile."""
    first = pool.submit(combined.insert, events(1))
    assert database.sending.wait(10)
    later = []
    for size in sizes:
        appended = events(size)
        later.append((pool.submit(combined.insert, appended), appended))

    def all_waiting() -> None:
        assert combined.waiting == len(sizes)

    eventually(all_waiting)
    return first, later


def test_a_lone_append_goes_at_once_with_nothing_else() -> None:
    database = Database()
    combined = CombinedInserts(database.insert)
    mine = events(2)
    assert combined.insert(mine) == [1, 2]
    assert database.statements == [mine]
    assert combined.waiting == 0


def test_appends_made_while_an_insert_is_under_way_go_together_each_with_its_ids() -> None:
    database = Database(hold=True)
    combined = CombinedInserts(database.insert)
    with ThreadPoolExecutor(8) as pool:
        first, later = queue_behind_a_held_insert(database, combined, pool, [1, 3, 2])
        database.release.set()
        assert first.result(10) == [1]
        answers = [(future.result(10), appended) for future, appended in later]
    assert len(database.statements) == 2  # the held one, then the three together
    together = database.statements[1]  # numbered from 2 on
    assert len(together) == 6
    for ids, appended in answers:
        # Each is answered with the ids of its own events, and only those.
        assert ids is not None and [together[i - 2] for i in ids] == appended
    assert sorted(i for ids, _ in answers if ids is not None for i in ids) == [2, 3, 4, 5, 6, 7]


def test_a_statement_takes_at_most_most_appends_the_rest_go_in_the_next() -> None:
    database = Database(hold=True)
    combined = CombinedInserts(database.insert, most=2)
    with ThreadPoolExecutor(8) as pool:
        first, later = queue_behind_a_held_insert(database, combined, pool, [1, 1, 1, 1, 1])
        database.release.set()
        first.result(10)
        for future, _ in later:
            future.result(10)
    assert [len(s) for s in database.statements] == [1, 2, 2, 1]


def test_inserts_up_to_in_flight_go_at_once() -> None:
    database = Database(hold=True)
    combined = CombinedInserts(database.insert, in_flight=2)
    with ThreadPoolExecutor(4) as pool:
        held = pool.submit(combined.insert, events(1))
        assert database.sending.wait(10)
        assert combined.insert(events(1)) is not None  # the second goes while the first waits
        assert combined.waiting == 0
        database.release.set()
        held.result(10)
    assert len(database.statements) == 2


def test_a_combined_statement_that_fails_tells_each_of_its_appends_and_the_next_go() -> None:
    database = Database(hold=True)
    combined = CombinedInserts(database.insert)
    refused = RuntimeError("duplicate key value violates unique constraint")
    with ThreadPoolExecutor(8) as pool:
        first, later = queue_behind_a_held_insert(database, combined, pool, [1, 1])
        database.failing = refused
        database.release.set()
        with pytest.raises(RuntimeError) as alone:
            first.result(10)  # sent alone: its own error, as it was
        assert alone.value is refused
        for future, _ in later:
            with pytest.raises(CombinedInsertFailed) as together:
                future.result(10)
            assert together.value.cause is refused
    database.failing = None
    assert combined.insert(events(1)) is not None  # nothing is left stuck
    assert combined.waiting == 0


def test_ids_that_do_not_match_the_events_are_an_error_not_a_wrong_answer() -> None:
    combined = CombinedInserts(lambda stored: [1])
    with pytest.raises(RuntimeError, match="1 notification ids returned for 2 events"):
        combined.insert(events(2))


def test_limits_below_one_are_refused() -> None:
    with pytest.raises(ValueError):
        CombinedInserts(lambda stored: [], in_flight=0)
