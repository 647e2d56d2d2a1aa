"""The one logging setup: JSON lines with the fields operators filter on, lines for a person
at a terminal, and nothing secret in either."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from infra.cli import cli
from infra.cli.app import load_settings
from infra.identity.keys import rotate_key
from infra.observability.logs import (
    HANDLER_NAME,
    REDACTED,
    JsonLines,
    configure_logging,
    configure_logging_once,
    dict_config,
)
from infra.settings import Settings

JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLWJ5dGVz"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def root_logger_restored() -> Iterator[None]:
    """Each test's handler leaves with it; pytest's own handlers are left alone."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def log_to(stream: io.StringIO, log_format: str = "auto", role: str = "api") -> logging.Logger:
    configure_logging(Settings(log_format=log_format, log_level="DEBUG"), role, stream)
    return logging.getLogger(f"itinera.test.{uuid4().hex[:6]}")


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_timestamp_level_role_logger_message_and_the_extras() -> None:
    stream = io.StringIO()  # not a terminal: auto means JSON
    log = log_to(stream)
    actor, trip = uuid4(), uuid4()
    log.info(
        "create trip %s", trip, extra={"actor": actor, "action": "create", "trip_id": str(trip)}
    )
    log.warning("second line\nwith a newline inside")

    first, second = lines(stream)
    assert list(first)[:5] == ["timestamp", "level", "role", "logger", "message"]
    assert first["level"] == "INFO" and first["role"] == "api" and first["logger"] == log.name
    assert first["message"] == f"create trip {trip}"
    assert first["actor"] == str(actor) and first["action"] == "create"
    assert first["trip_id"] == str(trip)
    stamp = datetime.fromisoformat(first["timestamp"])
    assert stamp.utcoffset() == timedelta(0)
    assert abs(datetime.now(stamp.tzinfo) - stamp) < timedelta(minutes=1)
    assert (
        second["level"] == "WARNING" and second["message"] == "second line\nwith a newline inside"
    )


def test_an_exception_is_a_field_with_its_traceback() -> None:
    stream = io.StringIO()
    log = log_to(stream, "json")
    try:
        raise ValueError("the reason")
    except ValueError:
        log.exception("could not apply")
    (line,) = lines(stream)
    assert line["level"] == "ERROR" and line["message"] == "could not apply"
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert "ValueError: the reason" in line["exception"]


def test_an_extra_named_role_does_not_replace_the_process_role() -> None:
    stream = io.StringIO()
    log_to(stream, "json", role="worker").info("member added", extra={"role": "editor"})
    assert lines(stream)[0]["role"] == "worker"


def test_extras_named_like_secrets_are_redacted_even_nested() -> None:
    stream = io.StringIO()
    log_to(stream, "json").info(
        "odd call",
        extra={
            "password": "correct horse",
            "access_token": "abc",
            "Authorization": "Bearer abc",
            "client_secret": "s3",
            "llm_api_key": "sk-1",
            "email": "ana@example.org",
            "content": "meet at 8",
            "body": {"text": "hi"},
            "request": {"headers": {"cookie": "sid=1"}, "path": "/x"},
            "tokens": 1234,  # a count of LLM tokens, not a token
        },
    )
    (line,) = lines(stream)
    for key in ("password", "access_token", "Authorization", "client_secret", "llm_api_key"):
        assert line[key] == REDACTED, key
    assert line["email"] == line["content"] == line["body"] == REDACTED
    assert line["request"] == {"headers": {"cookie": REDACTED}, "path": "/x"}
    assert line["tokens"] == 1234


@pytest.mark.parametrize(
    ("said", "kept", "gone"),
    [
        (f"Authorization: Bearer {JWT}", "Authorization: Bearer [redacted]", JWT),
        (f"refused {JWT} at the door", "refused [redacted] at the door", JWT),
        (
            '127.0.0.1:5 - "WebSocket /ws/trips/1?token=abc.def&x=1" [accepted]',
            "/ws/trips/1?token=[redacted]&x=1",
            "abc.def",
        ),
        ("GET /ws/notifications?ticket=T0pS3cret HTTP/1.1", "?ticket=[redacted]", "T0pS3cret"),
        (
            "cannot reach postgresql://itinera:hunter2@db:5432/itinera",
            "postgresql://itinera:[redacted]@db:5432/itinera",
            "hunter2",
        ),
        ("welcome ana.lima+trips@example.org", "welcome [redacted]", "ana.lima"),
    ],
)
def test_secrets_in_the_text_are_masked(said: str, kept: str, gone: str) -> None:
    stream = io.StringIO()
    log_to(stream, "json").info("%s", said)
    (line,) = lines(stream)
    assert kept in line["message"]
    assert gone not in stream.getvalue()


def test_addresses_that_are_not_emails_stay_readable() -> None:
    stream = io.StringIO()
    log_to(stream, "json").info("embedded PostgreSQL ready at postgresql://postgres@127.0.0.1:5")
    assert lines(stream)[0]["message"].endswith("postgresql://postgres@127.0.0.1:5")


def test_secrets_in_a_traceback_are_masked() -> None:
    stream = io.StringIO()
    log = log_to(stream, "json")
    try:
        raise RuntimeError(f"rejected Bearer {JWT}")
    except RuntimeError:
        log.exception("failed")
    assert JWT not in stream.getvalue()
    assert "rejected Bearer [redacted]" in lines(stream)[0]["exception"]


def test_at_a_terminal_auto_writes_lines_for_a_person() -> None:
    terminal = Terminal()
    log = log_to(terminal, role="serve")
    log.info("create trip 1", extra={"action": "create", "password": "pw"})
    try:
        raise KeyError("missing")
    except KeyError:
        log.exception("lookup failed")
    first, second, *traceback = terminal.getvalue().splitlines()
    with pytest.raises(json.JSONDecodeError):
        json.loads(first)
    assert f"INFO    serve {log.name}: create trip 1 action=create password={REDACTED}" in first
    assert f"ERROR   serve {log.name}: lookup failed" in second
    assert traceback[0].startswith("Traceback") and traceback[-1] == "KeyError: 'missing'"


def test_the_format_setting_wins_over_the_terminal() -> None:
    terminal = Terminal()
    log_to(terminal, "json").info("hello")
    assert lines(terminal)[0]["message"] == "hello"
    piped = io.StringIO()
    log_to(piped, "console").info("hello")
    assert piped.getvalue().rstrip().endswith(": hello")
    with pytest.raises(ValueError, match="log_format"):
        Settings(log_format="xml")


def test_configuring_again_replaces_our_handler_and_keeps_the_others() -> None:
    root = logging.getLogger()
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    first, second = io.StringIO(), io.StringIO()
    log_to(first)
    log = log_to(second, role="migrate")
    log.info("once")
    ours = [h for h in root.handlers if h.get_name() == HANDLER_NAME]
    assert len(ours) == 1 and foreign in root.handlers
    assert first.getvalue() == "" and lines(second)[0]["role"] == "migrate"


def test_the_level_setting_filters_and_chatty_libraries_say_warnings_only() -> None:
    stream = io.StringIO()
    configure_logging(Settings(log_format="json", log_level="WARNING"), "relay", stream)
    logging.getLogger("itinera.test").info("not shown")
    logging.getLogger("itinera.test").warning("shown")
    assert [line["message"] for line in lines(stream)] == ["shown"]
    configure_logging(Settings(log_format="json", log_level="DEBUG"), "relay", stream)
    assert logging.getLogger("kafka.conn").getEffectiveLevel() == logging.WARNING


def test_configure_once_leaves_a_configured_process_alone() -> None:
    stream = io.StringIO()
    log = log_to(stream, "json", role="serve")
    configure_logging_once(Settings(), role="api")
    log.info("still serve")
    assert lines(stream)[0]["role"] == "serve"


def test_configure_once_configures_a_bare_process(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    configure_logging_once(Settings(), role="api")
    (handler,) = root.handlers
    assert handler.get_name() == HANDLER_NAME


def test_the_cli_tags_lines_with_the_invoked_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ITINERA_LOG_FORMAT", "json")
    monkeypatch.setenv("ITINERA_KEYS_DIR", str(tmp_path))
    rotate_key(tmp_path)
    listed = CliRunner().invoke(cli, ["keys", "list"])  # calls load_settings()
    assert listed.exit_code == 0, listed.output
    assert _our_formatter_role() == "keys list"
    load_settings(role="worker")
    assert _our_formatter_role() == "worker"
    load_settings()  # outside any command
    assert _our_formatter_role() == "itinera"


def _our_formatter_role() -> str:
    (handler,) = [h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME]
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    assert isinstance(handler.formatter, JsonLines)
    return str(json.loads(handler.formatter.format(record))["role"])


def test_faust_gets_the_same_handler_as_a_logging_config() -> None:
    config = dict_config(Settings(log_format="json", log_level="DEBUG"), role="worker")
    assert config["root"] == {"level": "DEBUG", "handlers": [HANDLER_NAME]}
    assert config["disable_existing_loggers"] is False
    assert config["loggers"]["kafka"] == {"level": "WARNING"}
    handler = config["handlers"][HANDLER_NAME]["()"]()
    assert isinstance(handler.formatter, JsonLines)
    assert [type(f).__name__ for f in handler.filters] == ["Redaction"]
