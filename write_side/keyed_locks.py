"""One lock per key, kept only while someone holds or waits for it: the commands of one
aggregate in this process take turns instead of racing to save the same version."""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class _Turns:
    lock: threading.Lock = field(default_factory=threading.Lock)
    wanted: int = 0  # holders and waiters


class KeyedLocks:
    def __init__(self) -> None:
        self._turns: dict[Hashable, _Turns] = {}
        self._guard = threading.Lock()

    @contextmanager
    def hold(self, key: Hashable) -> Iterator[None]:
        with self._guard:
            turns = self._turns.setdefault(key, _Turns())
            turns.wanted += 1
        try:
            with turns.lock:
                yield
        finally:
            with self._guard:
                turns.wanted -= 1
                if not turns.wanted:
                    del self._turns[key]

    def __len__(self) -> int:
        """Keys held or waited for now."""
        with self._guard:
            return len(self._turns)
