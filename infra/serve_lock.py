"""One `itinera serve` per data directory.

Two serves on one data directory would share its embedded PostgreSQL and both run the
projections. The first holds an advisory lock (`flock`) on `serve.lock` in the directory for
as long as it lives; the kernel drops the lock when the process ends, however it ends, so a
crashed or `kill -9`'d serve never leaves a stale lock behind. The file names the holder (its
PID and address) for the message a second serve prints. Operator commands (`status`,
`rebuild`, ...) do not take it: they join the running server."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE = "serve.lock"


class ServeAlreadyRunningError(RuntimeError):
    def __init__(self, data_dir: Path, holder: str) -> None:
        pid, _, address = holder.strip().partition(" ")
        who = f"PID {pid}" if pid else "another process"
        at = f" at {address}" if address else ""
        super().__init__(
            f"serve already runs on the data directory {data_dir} ({who}{at});"
            " stop it first, or pass another --data-dir"
        )


@contextlib.contextmanager
def serve_lock(data_dir: Path, address: str) -> Iterator[None]:
    """Hold the data directory's serve lock while the block runs; raise
    ServeAlreadyRunningError when another process holds it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    # "a+" opens without truncating: the holder's line must survive until we own the lock.
    with (data_dir / LOCK_FILE).open("a+") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            raise ServeAlreadyRunningError(data_dir, file.read()) from None
        file.truncate(0)
        file.write(f"{os.getpid()} {address}\n")
        file.flush()
        yield  # closing the file releases the lock
