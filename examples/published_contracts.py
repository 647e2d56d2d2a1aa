"""Itinera's published contracts, read from the folder it publishes them in (its
`asyncapi.json`): which messages each topic carries, and whether a Kafka message keeps its
contract. Standard library and jsonschema only; no Itinera code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match


def _date_time(value: object) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


# Every format jsonschema checks by itself, plus date-time (which it leaves to an optional
# package): an ISO 8601 time with its UTC offset, as RFC 3339 wants.
FORMATS = FormatChecker()
FORMATS.checks("date-time", raises=ValueError)(_date_time)


class Invalid(Exception):
    """A message that breaks its contract; the text says how."""


@dataclass(frozen=True)
class Checked:
    """A message that keeps its contract."""

    event_type: str
    schema_version: str
    event_id: str
    value: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.event_type} v{self.schema_version}"


@dataclass(frozen=True)
class MessageContract:
    headers: Draft202012Validator
    value: Draft202012Validator


class Contracts:
    """The AsyncAPI document's messages, by topic, event type and schema version (as the
    `event_type` and `schema_version` headers give them)."""

    def __init__(self, folder: Path) -> None:
        document = json.loads((folder / "asyncapi.json").read_text(encoding="utf-8"))
        self.topics: list[str] = []
        self._messages: dict[tuple[str, str, str], MessageContract] = {}
        for channel in document["channels"].values():
            topic = channel["address"]
            self.topics.append(topic)
            for reference in channel["messages"].values():
                message = _resolved(document, reference)
                headers = _resolved(document, message["headers"])
                names = headers["properties"]
                key = (topic, names["event_type"]["const"], names["schema_version"]["const"])
                self._messages[key] = MessageContract(
                    headers=_validator(document, headers),
                    value=_validator(document, message["payload"]),
                )

    def check(
        self,
        topic: str,
        key: bytes | None,
        headers: list[tuple[str, bytes | None]],
        value: bytes | None,
    ) -> Checked:
        """The message, if it keeps its contract; raises Invalid if not."""
        texts = _texts(headers)
        event_type, version = texts.get("event_type"), texts.get("schema_version")
        if event_type is None or version is None:
            raise Invalid(f"no event_type or schema_version header (headers: {sorted(texts)})")
        contract = self._messages.get((topic, event_type, version))
        if contract is None:
            raise Invalid(f"unknown event type {event_type} v{version} on {topic}")
        _validate(contract.headers, texts, "headers")
        if key is None:
            raise Invalid("no key")
        try:
            key.decode("utf-8")
            document = json.loads(value or b"")
        except (UnicodeDecodeError, ValueError) as error:
            raise Invalid(f"key or value is not UTF-8 JSON text: {error}") from None
        _validate(contract.value, document, "value")
        for name in ("event_type", "schema_version", "event_id"):
            if str(document.get(name)) != texts.get(name):
                raise Invalid(
                    f"header {name}={texts.get(name)!r} differs from the value's "
                    f"{document.get(name)!r}"
                )
        return Checked(event_type, version, texts["event_id"], document)


def _texts(headers: list[tuple[str, bytes | None]]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for name, raw in headers:
        if name in texts:
            raise Invalid(f"header {name} given twice")
        try:
            texts[name] = (raw or b"").decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid(f"header {name} is not UTF-8 text") from None
    return texts


def _validate(validator: Draft202012Validator, instance: Any, what: str) -> None:
    error = best_match(validator.iter_errors(instance))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        raise Invalid(f"{what} at {where}: {error.message}")


def _resolved(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """A node of the document, following a local `$ref` ("#/components/messages/X")."""
    while "$ref" in node:
        found: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            found = found[part.replace("~1", "/").replace("~0", "~")]
        node = found
    return node


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    # The schema's `$ref`s point into the document's components: keep them under the root.
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "components": document["components"],
    }
    Draft202012Validator.check_schema(root)
    return Draft202012Validator(root, format_checker=FORMATS)
