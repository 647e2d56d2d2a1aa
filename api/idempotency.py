"""`Idempotency-Key` on POST: the client names the command, which then runs once; a retry of
the same request gets the first result (`Idempotent-Replayed: true`), the same key with another
request 422 `idempotency_key_reused`. The write side keeps each key with its command's events
(write_side/trips/command_record.py), so no crash can leave a key without its outcome."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from pydantic import BaseModel

from write_side.context import CommandContext, CommandKey


class IdempotencyKey:
    """The request's key (if it sent one) and what it asked, as the write side records it."""

    def __init__(self, key: str | None, route: str) -> None:
        self._key = key
        self._route = route

    def applied_to(self, acting: CommandContext, body: BaseModel | None) -> CommandContext:
        if self._key is None:
            return acting
        payload = body.model_dump_json() if body is not None else ""
        fingerprint = hashlib.sha256(f"{self._route}\n{payload}".encode()).hexdigest()
        return replace(acting, key=CommandKey(self._key, fingerprint))
