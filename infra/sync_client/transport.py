"""Requests to the sync endpoints: tried again with a growing pause after a lost connection
or a 5xx, refused at once while the device is offline, and a switch that loses a push's
answer on the way back (for tests of retries)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx


class Response(Protocol):
    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


class Http(Protocol):
    """What the client needs of an HTTP client: `httpx.Client` (its base URL set to the
    server), or a work-alike such as Starlette's TestClient."""

    def request(
        self, method: str, url: str, *, json: Any = None, headers: Mapping[str, str] | None = None
    ) -> Response: ...


class SyncError(Exception):
    """The server refused a request as a whole (not one change of a push)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code


class OfflineError(SyncError):
    """The device is offline (or went offline before the answer came back)."""

    def __init__(self, message: str = "offline") -> None:
        super().__init__(0, "offline", message)


class Transport:
    def __init__(
        self,
        http: Http,
        headers: Mapping[str, str],
        prefix: str = "/api/v1",
        attempts: int = 6,
        backoff: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
        lost: tuple[type[Exception], ...] = (httpx.TransportError,),
    ) -> None:
        """`lost`: the exceptions of `http` that mean the connection failed."""
        self.http = http
        self.headers = dict(headers)
        self.prefix = prefix
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep
        self.lost = lost
        self.online = True
        self.lose_next = False

    def send(self, method: str, path: str, body: Any, losable: bool = False) -> Response:
        """The server's answer; a 5xx or a lost connection is tried again, up to
        `attempts` times, pausing `backoff`, twice that, and so on."""
        failure = ""
        for attempt in range(self.attempts):
            if not self.online:
                raise OfflineError()
            try:
                response = self.http.request(
                    method, self.prefix + path, json=body, headers=self.headers
                )
            except self.lost as lost:
                failure = f"{type(lost).__name__}: {lost}"
            else:
                if losable and self.lose_next:
                    self.lose_next, self.online = False, False
                    raise OfflineError("the answer was lost")
                if response.status_code < 500:
                    return response
                failure = f"{response.status_code}: {response.text[:200]}"
            if attempt + 1 < self.attempts:
                self.sleep(self.backoff * 2**attempt)
        raise SyncError(503, "unavailable", f"{method} {path}: {self.attempts} tries: {failure}")


def data_of(response: Response) -> dict[str, Any]:
    """The envelope's data, or the SyncError its error says."""
    if response.status_code != 200:
        error = error_of(response)
        raise SyncError(response.status_code, str(error.get("code")), str(error.get("message")))
    data: dict[str, Any] = response.json()["data"]
    return data


def error_of(response: Response) -> dict[str, Any]:
    """The envelope's error (empty if there is none)."""
    if response.status_code < 400:
        return {}
    try:
        error = response.json().get("error")
    except ValueError:
        return {}
    return error if isinstance(error, dict) else {}
