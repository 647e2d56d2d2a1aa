"""Embedders, chosen by the settings: the packaged model when its extra is installed, else
the hashed fallback (`embedding_model`: auto, minilm, hashed)."""

from __future__ import annotations

from infra.embeddings.hashed import HashedEmbedder
from infra.embeddings.packaged import PackagedEmbedder, installed
from infra.settings import Settings
from read_side.recommendations import Embedder

__all__ = ["EmbeddingModelMissingError", "HashedEmbedder", "PackagedEmbedder", "embedder"]


class EmbeddingModelMissingError(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "ITINERA_EMBEDDING_MODEL=minilm needs the embeddings extra: "
            "pip install 'itinera[embeddings]'"
        )


def embedder(settings: Settings) -> Embedder:
    """The configured embedder (nothing is loaded until it first embeds)."""
    wanted = settings.embedding_model
    if wanted == "hashed" or (wanted == "auto" and not installed()):
        return HashedEmbedder()
    if not installed():
        raise EmbeddingModelMissingError()
    return PackagedEmbedder()
