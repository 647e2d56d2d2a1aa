"""AppendNotices with a fake connection: an append never waits for its notice nor fails for
it; a notice that cannot be sent is logged, and the next append is announced again; in a
stream of appends, notices are spaced, and the last append is still announced."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from infra.postgres.append_notices import AppendNotices
from tests.waiting import eventually


class FakeConnection:
    def __init__(self, sent: list[str]) -> None:
        self._sent = sent

    def execute(self, statement: Any) -> None:
        self._sent.append(statement.as_string(None))

    def commit(self) -> None:
        self._sent.append("COMMIT")


class Database:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.down = False
        self.answering = threading.Event()
        self.answering.set()
        self.asked = threading.Event()  # a notice is on its way

    @contextmanager
    def connect(self) -> Iterator[FakeConnection]:
        self.asked.set()
        self.answering.wait()
        if self.down:
            raise psycopg.OperationalError("connection refused")
        yield FakeConnection(self.sent)


def test_appends_made_while_a_notice_is_on_its_way_get_one_more_notice() -> None:
    database = Database()
    notices = AppendNotices(database.connect, "events")
    database.answering.clear()  # the first notice waits for a connection
    notices.announce()
    assert database.asked.wait(10)
    for _ in range(50):
        notices.announce()  # committed meanwhile: not announced by the first one
    database.answering.set()

    def two_sent() -> None:
        assert database.sent == ['NOTIFY "events"', "COMMIT"] * 2

    eventually(two_sent)


def test_a_notice_that_cannot_be_sent_is_logged_and_the_next_append_announced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    database = Database()
    database.down = True
    notices = AppendNotices(database.connect, "events")
    with caplog.at_level(logging.WARNING, logger="infra.postgres.append_notices"):
        notices.announce()  # returns at once, whatever happens to the notice

        def logged() -> None:
            assert "append notice not sent (readers will poll)" in caplog.text

        eventually(logged)
    database.down = False
    notices.announce()

    def sent() -> None:
        assert database.sent == ['NOTIFY "events"', "COMMIT"]

    eventually(sent)


def test_once_the_event_store_is_closed_nothing_is_sent_nor_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    database = Database()
    closed = threading.Event()
    notices = AppendNotices(database.connect, "events", closed.is_set)
    notices.announce()

    def sent() -> None:
        assert database.sent == ['NOTIFY "events"', "COMMIT"]

    eventually(sent)
    closed.set()  # the process is stopping: its pool is closed
    database.down = True  # as a closed pool answers
    with caplog.at_level(logging.WARNING, logger="infra.postgres.append_notices"):
        notices.announce()
        assert notices._thread is not None
        notices._thread.join(10)
        assert not notices._thread.is_alive()  # the thread ended
    assert "append notice not sent" not in caplog.text
    sent()


def test_notices_in_a_stream_of_appends_are_spaced_and_the_last_append_still_announced() -> None:
    database = Database()
    notices = AppendNotices(database.connect, "events", spacing=3.0)
    notices.announce()  # after a quiet moment: at once

    def sent(count: int) -> Callable[[], None]:
        def check() -> None:
            assert database.sent == ['NOTIFY "events"', "COMMIT"] * count

        return check

    eventually(sent(1), timeout=2.0)  # well before the spacing would have let it go
    for _ in range(20):
        notices.announce()  # a stream: one more notice, not before the spacing is over
    time.sleep(0.2)
    sent(1)()
    eventually(sent(2), timeout=10.0)
    time.sleep(0.2)
    sent(2)()  # the 20 appends cost one notice
