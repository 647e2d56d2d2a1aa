"""KeyedLocks: holders of one key take turns, other keys do not wait, and a key is forgotten
once nobody holds or waits for it."""

from __future__ import annotations

import threading

from write_side.keyed_locks import KeyedLocks


def test_holders_of_one_key_take_turns_and_other_keys_do_not_wait() -> None:
    locks = KeyedLocks()
    inside, release = threading.Event(), threading.Event()
    order: list[str] = []

    def first() -> None:
        with locks.hold("trip"):
            inside.set()
            release.wait(10)
            order.append("first")

    def second() -> None:
        with locks.hold("trip"):
            order.append("second")

    holder = threading.Thread(target=first)
    holder.start()
    assert inside.wait(10)
    waiter = threading.Thread(target=second)
    waiter.start()
    with locks.hold("another trip"):  # not held up by "trip"
        order.append("another")
    waiter.join(0.2)
    assert waiter.is_alive() and order == ["another"]  # "trip" is still held
    assert len(locks) == 1
    release.set()
    holder.join(10)
    waiter.join(10)
    assert order == ["another", "first", "second"]
    assert len(locks) == 0  # nothing kept for keys nobody holds


def test_a_holder_that_raises_lets_the_next_one_in() -> None:
    locks = KeyedLocks()
    try:
        with locks.hold("trip"):
            raise ValueError("the command failed")
    except ValueError:
        pass
    acquired = threading.Event()

    def next_one() -> None:
        with locks.hold("trip"):
            acquired.set()

    thread = threading.Thread(target=next_one)
    thread.start()
    assert acquired.wait(10)
    thread.join(10)
    assert len(locks) == 0
