"""Vectors as stored: float32, little-endian, in a `bytea` (1.5 KB for 384 dimensions)."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence

from read_side.recommendations import Vector


def to_bytes(vector: Sequence[float]) -> bytes:
    packed = array("f", vector)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def from_bytes(stored: bytes) -> Vector:
    unpacked = array("f")
    unpacked.frombytes(stored)
    if sys.byteorder == "big":
        unpacked.byteswap()
    return tuple(unpacked)
