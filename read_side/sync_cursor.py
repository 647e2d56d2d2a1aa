"""The sync cursor: where a client is in each trip it can see, opaque and signed.

It holds, per visible trip, the last feed position the client has (positions are gap-free
and in commit order per trip, so "everything after n" cannot skip a row committed late), the
feed's epoch (a rebuilt feed numbers again), the entity types it was made for, the last
sync-log entry whose effects it has reported (write checkpoints), its user and when it was
issued. An HMAC-SHA256 tag makes a forged or altered cursor a 400, not a wrong answer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from uuid import UUID

import orjson

from read_side.errors import InvalidCursorError, SyncResetRequiredError

_TAG_BYTES = 16
VERSION = 1


@dataclass(frozen=True)
class SyncCursor:
    user_id: UUID
    epoch: UUID
    entity_types: tuple[str, ...]
    positions: dict[UUID, int] = field(default_factory=dict)
    acked: int = 0  # the sync-log id of the last change the checkpoint reported
    issued_at: float = 0.0


class CursorCodec:
    def __init__(self, key: bytes, ttl_seconds: float) -> None:
        self._key = key
        self.ttl_seconds = ttl_seconds

    def encode(self, cursor: SyncCursor) -> str:
        body = orjson.dumps(
            {
                "v": VERSION,
                "u": cursor.user_id.hex,
                "e": cursor.epoch.hex,
                "t": list(cursor.entity_types),
                "p": {trip.hex: pos for trip, pos in cursor.positions.items()},
                "a": cursor.acked,
                "i": round(time.time()),
            }
        )
        return f"{_b64(body)}.{_b64(self._tag(body))}"

    def decode(self, text: str, user_id: UUID, now: float | None = None) -> SyncCursor:
        """The cursor, if it is ours, untouched and this user's (else 400); 410 if it is
        too old to trust (tombstones it needs may be gone)."""
        try:
            body_text, tag_text = text.split(".")
            body, tag = _unb64(body_text), _unb64(tag_text)
        except (ValueError, binascii.Error):
            raise InvalidCursorError("Malformed sync cursor") from None
        if not hmac.compare_digest(tag, self._tag(body)):
            raise InvalidCursorError("This sync cursor was not issued here, or was altered")
        try:
            raw = orjson.loads(body)
            cursor = SyncCursor(
                user_id=UUID(hex=raw["u"]),
                epoch=UUID(hex=raw["e"]),
                entity_types=tuple(str(t) for t in raw["t"]),
                positions={UUID(hex=k): int(v) for k, v in raw["p"].items()},
                acked=int(raw["a"]),
                issued_at=float(raw["i"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InvalidCursorError("Malformed sync cursor") from None
        if raw.get("v") != VERSION:
            raise SyncResetRequiredError("This sync cursor is from an older protocol")
        if cursor.user_id != user_id:
            raise InvalidCursorError("This sync cursor belongs to another user")
        if (now or time.time()) - cursor.issued_at > self.ttl_seconds:
            raise SyncResetRequiredError("This sync cursor has expired")
        return cursor

    def _tag(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:_TAG_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
