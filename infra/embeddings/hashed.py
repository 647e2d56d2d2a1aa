"""The lightweight embedder: feature hashing, no model and no dependency.

A text's words (case-folded, plurals' `s` dropped) and pairs of adjacent words are hashed
into 384 signed buckets, weighted 1 + ln(count) (sublinear, so a repeated word does not
swamp the rest), and the vector is L2-normalised. Texts that share words are close; it knows
nothing of synonyms ("museum" and "gallery" are unrelated to it). Deterministic across
processes and machines (BLAKE2b, not Python's salted `hash`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from hashlib import blake2b
from itertools import pairwise

from read_side.recommendation_scoring import words
from read_side.recommendations import Vector

DIMENSIONS = 384


class HashedEmbedder:
    model = "hashed-384-v1"  # bump when the features or the hashing change

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        return [hashed_vector(text) for text in texts]


def hashed_vector(text: str) -> Vector:
    tokens = words(text)
    features = Counter(tokens) + Counter(f"{a} {b}" for a, b in pairwise(tokens))
    vector = [0.0] * DIMENSIONS
    for feature, count in features.items():
        digest = int.from_bytes(blake2b(feature.encode(), digest_size=8).digest(), "little")
        sign = 1.0 if digest & 1 else -1.0
        vector[(digest >> 1) % DIMENSIONS] += sign * (1.0 + math.log(count))
    norm = math.sqrt(sum(v * v for v in vector))
    return tuple(v / norm for v in vector) if norm else tuple(vector)
