"""`Idempotency-Key` on POST: a retry of the same request gets the first response, and the
command runs once. The key is the caller's (scoped to the user), kept 24 hours."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol
from uuid import UUID

from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from api.errors import ApiError


class Recorded(Protocol):
    @property
    def fingerprint(self) -> str: ...

    @property
    def status_code(self) -> int | None: ...

    @property
    def body(self) -> bytes | None: ...

    @property
    def etag(self) -> str | None: ...


class IdempotencyStore(Protocol):
    def claim(self, user_id: UUID, key: str, fingerprint: str) -> Recorded | None: ...

    def complete(
        self, user_id: UUID, key: str, status_code: int, body: bytes, etag: str | None
    ) -> None: ...

    def release(self, user_id: UUID, key: str) -> None: ...


class IdempotentCall:
    def __init__(self, store: IdempotencyStore, user_id: UUID, key: str | None, route: str) -> None:
        self._store = store
        self._user_id = user_id
        self._key = key
        self._route = route

    def run(self, body: BaseModel | None, respond: Callable[[], JSONResponse]) -> Response:
        if self._key is None:
            return respond()
        payload = body.model_dump_json() if body is not None else ""
        fingerprint = hashlib.sha256(f"{self._route}\n{payload}".encode()).hexdigest()
        recorded = self._store.claim(self._user_id, self._key, fingerprint)
        if recorded is not None:
            return self._replay(recorded, fingerprint)
        try:
            response = respond()
        except BaseException:
            self._store.release(self._user_id, self._key)
            raise
        self._store.complete(
            self._user_id,
            self._key,
            response.status_code,
            bytes(response.body),
            response.headers.get("etag"),
        )
        return response

    def _replay(self, recorded: Recorded, fingerprint: str) -> Response:
        if recorded.fingerprint != fingerprint:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "This Idempotency-Key was used for a different request",
            )
        if recorded.status_code is None or recorded.body is None:
            raise ApiError(
                409, "idempotency_key_in_progress", "The first request with this key is running"
            )
        headers = {"Idempotent-Replayed": "true"}
        if recorded.etag:
            headers["ETag"] = recorded.etag
        return Response(
            recorded.body,
            status_code=recorded.status_code,
            headers=headers,
            media_type="application/json",
        )
