"""The published contracts as documents a consumer can read without our code: one JSON Schema
per event type and schema version, and one AsyncAPI 3 document of every topic, its messages,
their headers and key. Built from `streams.published`; `itinera contracts export` writes them.

The schemas describe a message value as `model_dump_json()` writes it (serialization mode:
a Decimal is a string). They allow properties they do not name, as our readers do: a new
optional field may join a version without breaking a consumer that validates with the old
schema. `required` lists the fields without a default, and the two that identify a message
(`event_type`, `schema_version`): a field added later has a default, so messages published
before it still validate.
"""

from __future__ import annotations

import json
from importlib.metadata import version as package_version
from typing import Any

from streams.envelope import Contract
from streams.headers import CONTENT_TYPE, HEADERS, OPTIONAL_HEADERS
from streams.published import PUBLISHED_TOPICS, PublishedTopic

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ASYNCAPI_FILE = "asyncapi.json"
SCHEMAS_DIR = "schemas"
KAFKA_BINDING_VERSION = "0.5.0"
_IDENTITY = ("event_type", "schema_version")
# Keywords draft-07 (on which AsyncAPI's Schema Object is built) would silently ignore.
_NOT_IN_DRAFT_07 = frozenset(
    {
        "prefixItems",
        "dependentRequired",
        "dependentSchemas",
        "unevaluatedItems",
        "unevaluatedProperties",
        "$dynamicRef",
        "$dynamicAnchor",
    }
)

_INFO_DESCRIPTION = """\
Every message Itinera publishes to Kafka. A message's value is one UTF-8 JSON object (its \
payload schema, also published as `schemas/<topic>/<EventType>.v<N>.json`); its key is UTF-8 \
text, described per topic; its headers are UTF-8 text and repeat the value's `event_type`, \
`schema_version` and `event_id`, so a consumer can route and dedupe without parsing the value.

- **Ordering**: per key. Messages with the same key are on one partition, in the order they \
happened; there is no order across keys.
- **Delivery**: at least once (system-notifications: at most once, they are signals). A \
message may be delivered again, with the same `event_id`: dedupe by `event_id`.
- **Versions**: a message is identified by `event_type` and `schema_version`. A field removed, \
retyped or newly required makes a new `schema_version`; older versions stay documented while \
their messages may still be on the topic. A new optional field may join a version: ignore \
properties you do not know (the schemas allow them).
"""


def event_type_of(contract: type[Contract]) -> str:
    event_type: str = contract.model_fields["event_type"].default
    return event_type


def schema_version_of(contract: type[Contract]) -> int:
    schema_version: int = contract.model_fields["schema_version"].default
    return schema_version


def message_name(contract: type[Contract]) -> str:
    """Unique in the AsyncAPI document: `DestinationAddedV1`."""
    return f"{event_type_of(contract)}V{schema_version_of(contract)}"


def schema_file(topic: PublishedTopic, contract: type[Contract]) -> str:
    """Its JSON Schema's path under `schemas/`: `trip-events/TripCreated.v1.json`."""
    return f"{topic.name}/{event_type_of(contract)}.v{schema_version_of(contract)}.json"


def contract_schema(topic: PublishedTopic, contract: type[Contract]) -> dict[str, Any]:
    """The published JSON Schema of one contract (draft 2020-12; nested models in `$defs`)."""
    schema = _tolerant(contract.model_json_schema(mode="serialization"))
    required = [name for name in _IDENTITY if name in schema["properties"]]
    required += [name for name in schema.get("required", []) if name not in required]
    schema["required"] = required
    schema["title"] = f"{event_type_of(contract)} v{schema_version_of(contract)}"
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{SCHEMAS_DIR}/{schema_file(topic, contract)}",
        **schema,
    }


def json_schemas() -> dict[str, dict[str, Any]]:
    """Path under `schemas/` → the JSON Schema of every contract of every published topic."""
    return {
        schema_file(topic, contract): contract_schema(topic, contract)
        for topic, contract in _published()
    }


def asyncapi_document() -> dict[str, Any]:
    """One AsyncAPI 3.0.0 document: a channel per topic, sent by Itinera, a message per
    contract; nested models are lifted from each payload's `$defs` into components.schemas."""
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in PUBLISHED_TOPICS:
        channel = _camel(topic.name)
        names = []
        for contract in topic.contracts:
            name = message_name(contract)
            names.append(name)
            payload = contract_schema(topic, contract)
            for def_name, definition in payload.pop("$defs", {}).items():
                _add_component(schemas, def_name, _components_refs(definition))
            del payload["$schema"], payload["$id"]
            _add_component(schemas, name, _components_refs(payload))
            messages[name] = _message(topic, contract, payload.get("description"))
        channels[channel] = {
            "address": topic.name,
            "title": topic.name,
            "description": topic.description,
            "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in names},
        }
        operations[f"publish{channel[0].upper()}{channel[1:]}"] = {
            "action": "send",
            "title": f"Publish to {topic.name}",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in names],
        }
    for schema in schemas.values():
        _check_draft_07(schema)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Itinera",
            "version": package_version("itinera"),
            "description": _INFO_DESCRIPTION,
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "kafka": {
                "host": "localhost:9092",
                "protocol": "kafka",
                "description": "A placeholder: each environment's brokers (its "
                "ITINERA_KAFKA_BOOTSTRAP_SERVERS).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": schemas,
            "correlationIds": {
                "correlationId": {
                    "description": "The request this event belongs to.",
                    "location": "$message.header#/correlation_id",
                }
            },
        },
    }


def document_files() -> dict[str, str]:
    """Every generated file's path (relative to the contracts folder) → its text, dumped
    deterministically so the committed copies only change when a contract does."""
    files = {ASYNCAPI_FILE: dump(asyncapi_document())}
    for path, schema in json_schemas().items():
        files[f"{SCHEMAS_DIR}/{path}"] = dump(schema)
    return files


def dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _published() -> list[tuple[PublishedTopic, type[Contract]]]:
    seen: dict[str, type[Contract]] = {}
    found = []
    for topic in PUBLISHED_TOPICS:
        for contract in topic.contracts:
            name = message_name(contract)
            if seen.setdefault(name, contract) is not contract:
                raise ValueError(
                    f"{name} is published by two classes ({seen[name].__qualname__}, "
                    f"{contract.__qualname__}): an event type and version names one contract"
                )
            found.append((topic, contract))
    return found


def _message(
    topic: PublishedTopic, contract: type[Contract], description: str | None
) -> dict[str, Any]:
    name = message_name(contract)
    message: dict[str, Any] = {
        "name": name,
        "title": f"{event_type_of(contract)} v{schema_version_of(contract)}",
        "contentType": CONTENT_TYPE,
        "headers": _headers(contract),
        "payload": {"$ref": f"#/components/schemas/{name}"},
        "correlationId": {"$ref": "#/components/correlationIds/correlationId"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": topic.key},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }
    if description:
        message["description"] = description
    return message


def _headers(contract: type[Contract]) -> dict[str, Any]:
    fixed = {
        "event_type": event_type_of(contract),
        "schema_version": str(schema_version_of(contract)),
        "content-type": CONTENT_TYPE,
    }
    properties: dict[str, Any] = {}
    for name, description in HEADERS.items():
        properties[name] = {"type": "string", "description": description}
        if name in fixed:
            properties[name]["const"] = fixed[name]
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in HEADERS if name not in OPTIONAL_HEADERS],
    }


def _tolerant(schema: Any) -> Any:
    """The schema without `additionalProperties: false` anywhere (a mapping's value schema
    stays): readers ignore fields a newer producer added."""
    if isinstance(schema, dict):
        return {
            key: _tolerant(value)
            for key, value in schema.items()
            if not (key == "additionalProperties" and value is False)
        }
    if isinstance(schema, list):
        return [_tolerant(item) for item in schema]
    return schema


def _components_refs(schema: Any) -> Any:
    """`#/$defs/X` (relative to one payload) → `#/components/schemas/X`."""
    if isinstance(schema, dict):
        return {
            key: (
                value.replace("#/$defs/", "#/components/schemas/", 1)
                if key == "$ref" and isinstance(value, str)
                else _components_refs(value)
            )
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_components_refs(item) for item in schema]
    return schema


def _add_component(schemas: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    if schemas.setdefault(name, schema) != schema:
        raise ValueError(
            f"two different schemas are named {name} (nested models of different contracts, "
            "or a model named like a message): rename one of the classes"
        )


def _check_draft_07(schema: Any) -> None:
    if isinstance(schema, dict):
        used = _NOT_IN_DRAFT_07.intersection(schema)
        if used:
            raise ValueError(
                f"{sorted(used)} would be ignored by AsyncAPI's draft-07 based schemas: "
                "publish the field with a type both drafts read alike"
            )
        for key, value in schema.items():
            if key not in ("properties", "$defs") or not isinstance(value, dict):
                _check_draft_07(value)
            else:
                for member in value.values():
                    _check_draft_07(member)
    elif isinstance(schema, list):
        for item in schema:
            _check_draft_07(item)


def _camel(topic_name: str) -> str:
    first, *rest = topic_name.split("-")
    return first + "".join(part.capitalize() for part in rest)
