"""A fake OpenAI-compatible server: real HTTP on 127.0.0.1, speaking Chat Completions, for
tests that drive the real `openai` client through `base_url` (no transport mocked).

    with FakeOpenAI.start() as fake:
        fake.script(error(429, retry_after=0), answer('{"days": []}'))
        ... AsyncOpenAI(base_url=fake.base_url, api_key="test-key") ...
        assert fake.requests[1].body["response_format"]["type"] == "json_schema"

`POST /v1/chat/completions` takes the next scripted response (a 400 when none is left);
every request is recorded. Completions and errors have OpenAI's shapes: `chat.completion`
with choices, message {role, content, refusal}, finish_reason and usage; errors as
{"error": {message, type, param, code}}, with `retry-after` when given. Each connection has a
thread of its own, so a slow response holds no other request; `stop()` cuts waits short.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


@dataclass(frozen=True)
class Scripted:
    """One response: `status` with a JSON `body` and `headers`, sent after `delay` seconds."""

    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    """A request as the server saw it: its path, headers (lower-case names) and JSON body."""

    path: str
    headers: Mapping[str, str]
    body: Mapping[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def text(self) -> str:
        """Every message's content, one after the other: what the model was told."""
        return "\n".join(str(m.get("content")) for m in self.messages)


def _completion(
    content: str | None,
    *,
    refusal: str | None = None,
    finish_reason: str = "stop",
    prompt_tokens: int = 100,
    completion_tokens: int = 50,
) -> Scripted:
    return Scripted(
        200,
        {
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": content,
                        "refusal": refusal,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            "system_fingerprint": "fp_fake",
        },
    )


def answer(
    content: str | Mapping[str, Any], *, prompt_tokens: int = 100, completion_tokens: int = 50
) -> Scripted:
    """A finished answer whose content is `content` (JSON text, or a mapping to dump)."""
    text = content if isinstance(content, str) else json.dumps(content)
    return _completion(text, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)


def refusal(text: str = "I'm sorry, I can't help with that.") -> Scripted:
    return _completion(None, refusal=text, completion_tokens=10)


def truncated(text: str = '{"summary": "A long', *, completion_tokens: int = 8000) -> Scripted:
    """An answer cut off at the output limit (finish_reason length)."""
    return _completion(text, finish_reason="length", completion_tokens=completion_tokens)


def filtered() -> Scripted:
    """An answer stopped by the content filter (finish_reason content_filter)."""
    return _completion(None, finish_reason="content_filter", completion_tokens=0)


def error(
    status: int, message: str = "", *, retry_after: float | None = None, code: str | None = None
) -> Scripted:
    """An OpenAI error body with `status`; `retry_after` seconds as the header."""
    kind, default_code = _ERROR_TYPES.get(status, ("server_error", None))
    headers = {} if retry_after is None else {"retry-after": f"{retry_after:g}"}
    body = {
        "error": {
            "message": message or f"fake error {status}",
            "type": kind,
            "param": None,
            "code": code or default_code,
        }
    }
    return Scripted(status, body, headers)


def slow(seconds: float, then: Scripted) -> Scripted:
    """`then`, sent only after `seconds` (longer than a client's timeout: it gives up)."""
    return replace(then, delay=seconds)


class FakeOpenAI:
    def __init__(self) -> None:
        self._scripted: deque[Scripted] = deque()
        self._received: list[Received] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @classmethod
    def start(cls) -> FakeOpenAI:
        fake = cls()
        fake._thread.start()
        return fake

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def script(self, *responses: Scripted) -> None:
        """Queue responses, answered in order, one a request."""
        with self._lock:
            self._scripted.extend(responses)

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> FakeOpenAI:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _respond(self, path: str, headers: Mapping[str, str], body: bytes) -> Scripted:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return error(400, "the body is not JSON")
        with self._lock:
            self._received.append(Received(path, headers, request))
            if path != "/v1/chat/completions":
                return error(404, f"no route {path}", code="unknown_url")
            if not self._scripted:
                return error(400, "the fake has no response scripted for this request")
            scripted = self._scripted.popleft()
        if scripted.status != 200:
            return scripted
        completion = {
            "id": f"chatcmpl-fake{next(self._ids)}",
            "created": int(time.time()),
            "model": request.get("model", ""),
            **scripted.body,
        }
        return replace(scripted, body=completion)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: with Nagle's algorithm on, the
            # body would wait for the client's delayed ACK (about 40 ms a call).
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                size = int(self.headers.get("content-length") or 0)
                headers = {k.lower(): v for k, v in self.headers.items()}
                response = fake._respond(self.path, headers, self.rfile.read(size))
                if response.delay and fake._stopping.wait(response.delay):
                    self.close_connection = True  # stopped while waiting: no answer
                    return
                payload = json.dumps(response.body).encode()
                try:
                    self.send_response(response.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    for name, value in response.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test): nothing to answer

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: tests assert on `requests`, not on an access log

        return Handler
