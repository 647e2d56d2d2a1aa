"""Stored events → contracts, the fast way: straight from the JSON eventsourcing stored.

eventsourcing decodes a stored event into a domain event object, turning every id, time and
amount into a Python object, and the contract then validates them again. For an event stored
under its class's current version, the stored JSON already holds every field the contract
needs: unwrap eventsourcing's `{"_type_": ..., "_data_": ...}` values to their plain data and
let pydantic (in Rust) validate the contract from them. An event stored under an older class
version (it needs its upcasters) or holding a type this reader does not know is decoded the
exact way instead, through the application's mapper. Both ways give equal contracts (tested).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple
from uuid import UUID

import orjson

from streams.contracts import EventEnvelope
from streams.headers import Cause
from streams.mapping import published_as
from streams.published_event import Published

# eventsourcing's transcodings whose stored data pydantic reads as the contract's type.
_PLAIN = frozenset({"uuid_hex", "datetime_iso", "date_iso", "decimal_str"})


class _NeedsExactDecoding(Exception):
    pass


def _plain(value: Any) -> Any:
    if type(value) is dict:
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            if value["_type_"] not in _PLAIN:
                raise _NeedsExactDecoding
            return value["_data_"]
        return {k: _plain(v) for k, v in value.items()}
    if type(value) is list:
        return [_plain(v) for v in value]
    return value


class Mapped(NamedTuple):
    topic: str
    event: EventEnvelope
    cause: Cause


def contract_of_stored(
    stored_topic: str,
    aggregate_id: UUID,
    version: int,
    state: bytes,
    decode_exactly: Callable[[], object],
) -> Mapped | None:
    """The Kafka topic, contract and cause of one stored event, or None if it is not
    published. `decode_exactly` returns the domain event, for those the fast way cannot read."""
    published = published_as(stored_topic)
    if published is None:
        return None
    fields = _stored_fields(published, state)
    if fields is None:
        fields = vars(decode_exactly())
    causation = fields.get("causation_id")
    return Mapped(
        published.topic,
        published.contract_of(aggregate_id, version, fields),
        Cause(
            None if causation is None else UUID(str(causation)),
            fields.get("traceparent"),
        ),
    )


def _stored_fields(published: Published, state: bytes) -> dict[str, Any] | None:
    try:
        raw = orjson.loads(state)
    except orjson.JSONDecodeError:  # compressed or encrypted by the application's mapper
        return None
    if type(raw) is not dict or raw.get("class_version", 1) != published.class_version:
        return None
    try:
        for key, value in raw.items():
            if type(value) is dict or type(value) is list:
                raw[key] = _plain(value)
    except _NeedsExactDecoding:
        return None
    return raw
