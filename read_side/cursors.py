"""Opaque page cursors: the sort key of the last item a page showed, so the next page starts
right after it whatever was inserted or removed before it (an offset would skip or repeat)."""

from __future__ import annotations

import base64
import binascii
import json

from read_side.errors import InvalidCursorError


def encode_cursor(*key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def decode_cursor(cursor: str, parts: int) -> tuple[str, ...]:
    """The key a cursor holds; InvalidCursorError unless it is one of ours with `parts`
    printable strings (a NUL would reach PostgreSQL, which refuses it)."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error) as error:
        raise InvalidCursorError("Malformed cursor") from error
    if (
        not isinstance(key, list)
        or len(key) != parts
        or not all(isinstance(part, str) and part.isprintable() for part in key)
    ):
        raise InvalidCursorError("Malformed cursor")
    return tuple(key)
