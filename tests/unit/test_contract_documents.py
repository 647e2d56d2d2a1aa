"""The published contracts as documents (docs/contracts): committed as the code generates
them, compatible with what was published, honoured by real messages, and valid AsyncAPI for
the official parser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import orjson
import pytest
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from typer.testing import CliRunner

from infra.cli import cli
from infra.cli.contracts import differences
from streams.contract_compat import breaking_changes
from streams.contract_documents import (
    asyncapi_document,
    document_files,
    dump,
    event_type_of,
    json_schemas,
    message_name,
    schema_file,
    schema_version_of,
)
from streams.contracts import Contract, EventEnvelope, serialize_event, upgrade
from streams.headers import HEADERS, OPTIONAL_HEADERS
from streams.outbox import OutboxReader
from streams.position import START
from streams.published import PUBLISHED_TOPICS, PublishedTopic
from write_side.context import CommandContext
from write_side.event_store import EventStore
from write_side.trips.commands import (
    AddActivity,
    AddDestination,
    ArchiveTrip,
    PlanTrip,
    UpdateActivity,
    When,
)
from write_side.trips.planner import TripPlanner
from write_side.trips.trip import ActivityType

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "docs" / "contracts"
VALIDATOR = ROOT / "scripts" / "validate_asyncapi.mjs"
PUBLISHED = [(topic, contract) for topic in PUBLISHED_TOPICS for contract in topic.contracts]


def _id(case: tuple[PublishedTopic, type[Contract]]) -> str:
    return schema_file(*case)


# --- the committed documents -------------------------------------------------------------


def test_the_committed_documents_are_what_the_code_generates() -> None:
    differing = differences(CONTRACTS, document_files())
    assert not differing, (
        "docs/contracts is not what the contracts generate:\n  "
        + "\n  ".join(differing)
        + "\nRun `itinera contracts export` and commit docs/contracts."
    )


def test_no_contract_breaks_the_schema_it_was_published_with() -> None:
    generated = json_schemas()
    found = []
    for path in sorted((CONTRACTS / "schemas").glob("**/*.json")):
        name = path.relative_to(CONTRACTS / "schemas").as_posix()
        if name in generated:
            published = json.loads(path.read_text(encoding="utf-8"))
            found += [
                f"{name}: {reason}" for reason in breaking_changes(published, generated[name])
            ]
    assert not found, (
        "Breaking changes to published contracts (publish them as a new schema_version, "
        "with an upgrader from the old one):\n  " + "\n  ".join(found)
    )


def test_every_older_version_on_a_topic_is_upgraded_to_the_newest() -> None:
    versions: dict[tuple[str, str], list[type[Contract]]] = defaultdict(list)
    for topic, contract in PUBLISHED:
        versions[(topic.name, event_type_of(contract))].append(contract)
    several = {key: found for key, found in versions.items() if len(found) > 1}
    assert several, "expected DestinationAdded and ActivityAdded to have two versions"
    for (topic, event_type), contracts in several.items():
        newest = max(contracts, key=schema_version_of)
        for older in contracts:
            if older is newest:
                continue
            event = older.model_validate(sample_of(older))
            assert isinstance(event, EventEnvelope)
            upgraded = upgrade(event)
            assert type(upgraded) is newest, (
                f"{topic}: {event_type} v{schema_version_of(older)} is not upgraded to "
                f"v{schema_version_of(newest)} by streams.contracts.upgrade()"
            )
            assert upgraded.event_id == event.event_id


# --- the compatibility checker -----------------------------------------------------------

BASE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "place": {"$ref": "#/$defs/Place"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["id", "place"],
    "$defs": {
        "Place": {
            "type": "object",
            "properties": {"lat": {"type": "number"}, "kind": {"enum": ["city", "park"]}},
            "required": ["lat"],
        }
    },
}


def changed(edit: Any) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(json.dumps(BASE))
    edit(schema)
    return schema


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda s: s["properties"].pop("note"), "note: removed"),
        (lambda s: s["$defs"]["Place"]["properties"].pop("kind"), "place.kind: removed"),
        (lambda s: s["properties"]["id"].update(type="integer"), "id: type changed"),
        (lambda s: s["properties"]["id"].pop("format"), "id: format changed"),
        (
            lambda s: s["$defs"]["Place"]["properties"]["lat"].update(type="string"),
            "place.lat: type changed",
        ),
        (
            lambda s: s["$defs"]["Place"]["properties"]["kind"].update(enum=["city"]),
            "place.kind: enum changed",
        ),
        (lambda s: s["properties"]["tags"]["items"].update(type="integer"), "tags[items]"),
        (lambda s: s["properties"].update(note={"type": "string"}), "note: anyOf went from 2"),
        (lambda s: s["required"].append("note"), "note: newly required"),
        (
            lambda s: (
                s["properties"].update(rank={"type": "string"}),
                s["required"].append("rank"),
            ),
            "rank: newly required (a new property)",
        ),
        (
            lambda s: s["$defs"]["Place"]["required"].append("kind"),
            "place.kind: newly required",
        ),
        (
            lambda s: s["properties"].update(place={"type": "string"}),
            "place: type changed",
        ),
    ],
)
def test_a_removed_retyped_or_newly_required_property_is_breaking(edit: Any, reason: str) -> None:
    reasons = breaking_changes(BASE, changed(edit))
    assert any(found.startswith(reason) for found in reasons), reasons


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: None,
        lambda s: s["properties"].update(rank={"type": "string"}),
        lambda s: s["$defs"]["Place"]["properties"].update(country={"type": "string"}),
        lambda s: s["properties"]["id"].update(description="The trip's id.", title="Id"),
        lambda s: s["required"].remove("place"),  # still sent: producers write every field
        lambda s: (
            s["$defs"].update(Spot=s["$defs"].pop("Place")),
            s["properties"].update(place={"$ref": "#/$defs/Spot"}),
        ),
    ],
    ids=["same", "new-optional", "new-optional-nested", "annotations", "now-optional", "renamed"],
)
def test_a_new_optional_property_or_an_annotation_is_not_breaking(edit: Any) -> None:
    assert breaking_changes(BASE, changed(edit)) == []


def test_a_recursive_schema_is_compared_without_looping() -> None:
    tree = {
        "$ref": "#/$defs/Node",
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
            }
        },
    }
    retyped = json.loads(json.dumps(tree))
    retyped["$defs"]["Node"]["properties"]["children"]["type"] = "object"
    assert breaking_changes(tree, tree) == []
    assert breaking_changes(tree, retyped) == ["children: type changed from 'array' to 'object'"]


def test_the_real_schemas_catch_a_change_nested_in_a_definition() -> None:
    activity = json_schemas()["trip-events/ActivityAdded.v2.json"]
    narrower = json.loads(json.dumps(activity))
    del narrower["$defs"]["Moment"]["properties"]["time_zone"]
    assert breaking_changes(activity, activity) == []
    assert breaking_changes(activity, narrower) == [
        "payload.start<anyOf[0]>.time_zone: removed",
        "payload.end<anyOf[0]>.time_zone: removed",
    ]


# --- the JSON Schemas describe real messages ---------------------------------------------


def formats() -> FormatChecker:
    """uuid and date as jsonschema checks them; date-time as ISO 8601, offset optional
    (jsonschema checks date-time only when rfc3339-validator is installed)."""
    checker = FormatChecker(["uuid", "date"])
    checker.checks("date-time", raises=ValueError)(datetime.fromisoformat)
    return checker


def validator_of(event: Contract) -> Draft202012Validator:
    topic = next(topic for topic, contract in PUBLISHED if contract is type(event))
    schema = json_schemas()[schema_file(topic, type(event))]
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=formats())


def planned_trip_messages() -> list[EventEnvelope]:
    planner = TripPlanner(EventStore())
    context = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    trip = planner.plan_trip(
        PlanTrip("Japan", "", date(2027, 4, 1), date(2027, 4, 20), currency="JPY"), context
    )
    destination = planner.add_destination(
        AddDestination(
            trip.trip_id,
            "Kyoto",
            "Temples",
            {"lat": 35.0, "lng": 135.7, "address": "Kyoto"},
            date(2027, 4, 2),
            date(2027, 4, 6),
        ),
        context,
    )
    activity = planner.add_activity(
        AddActivity(
            destination.id,
            "Temple",
            "",
            ActivityType.SIGHTSEEING,
            start=When(datetime(2027, 4, 3, 9), "Asia/Tokyo"),
            cost=Decimal("9.99"),
            currency="EUR",
        ),
        context,
    )
    planner.update_activity(
        UpdateActivity(activity.id, {"title": "Kiyomizu", "cost": Decimal("12.50")}), context
    )
    planner.archive_trip(ArchiveTrip(trip.trip_id), context)
    return [m.event for m in OutboxReader(planner.events).read_after(START, 100).messages]


def test_real_messages_validate_against_their_published_schema() -> None:
    events = planned_trip_messages()
    assert {type(event).__name__ for event in events} >= {
        "TripCreated",
        "DestinationAdded",
        "ActivityAdded",
        "ActivityUpdated",
        "TripArchived",
    }
    for event in events:
        validator_of(event).validate(orjson.loads(serialize_event(event)))


@pytest.mark.parametrize("case", PUBLISHED, ids=_id)
def test_every_contract_as_serialized_validates_against_its_schema(
    case: tuple[PublishedTopic, type[Contract]],
) -> None:
    _, contract = case
    event = contract.model_validate(sample_of(contract))
    validator_of(event).validate(orjson.loads(event.model_dump_json()))


def test_the_schemas_tolerate_unknown_fields_but_not_a_wrong_or_missing_one() -> None:
    event = planned_trip_messages()[0]
    validator = validator_of(event)
    value = orjson.loads(serialize_event(event))

    newer = {**value, "region": "eu", "payload": {**value["payload"], "cover": {"url": "x"}}}
    validator.validate(newer)
    for broken in (
        {**value, "event_id": "not-a-uuid"},
        {**value, "aggregate_version": "3"},
        {**value, "aggregate_version": 0},
        {**value, "schema_version": 2},
        {**value, "payload": {**value["payload"], "start_date": "1 April"}},
        {key: field for key, field in value.items() if key != "correlation_id"},
        {key: field for key, field in value.items() if key != "event_type"},
    ):
        with pytest.raises(ValidationError):
            validator.validate(broken)


def test_every_published_date_time_carries_its_offset() -> None:
    rfc_3339 = FormatChecker(["uuid", "date"])

    @rfc_3339.checks("date-time", raises=ValueError)
    def _with_offset(value: str) -> bool:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None

    for event in planned_trip_messages():
        schema = validator_of(event).schema
        Draft202012Validator(schema, format_checker=rfc_3339).validate(
            orjson.loads(serialize_event(event))
        )


# --- the AsyncAPI document ---------------------------------------------------------------


def test_each_message_is_its_contract_with_its_headers_and_key() -> None:
    document = asyncapi_document()
    schemas = json_schemas()
    components = document["components"]
    required_headers = sorted(set(HEADERS) - OPTIONAL_HEADERS)
    for topic, contract in PUBLISHED:
        name = message_name(contract)
        message = components["messages"][name]
        published = dict(schemas[schema_file(topic, contract)])
        defs = published.pop("$defs", {})
        del published["$schema"], published["$id"]
        assert inline(message["payload"], "#/components/schemas/", components["schemas"]) == (
            inline(published, "#/$defs/", defs)
        ), f"{name}'s payload is not its JSON Schema"
        headers = message["headers"]
        assert sorted(headers["required"]) == required_headers
        assert set(headers["properties"]) == set(HEADERS)
        assert headers["properties"]["event_type"]["const"] == event_type_of(contract)
        assert headers["properties"]["schema_version"]["const"] == str(schema_version_of(contract))
        assert message["bindings"]["kafka"]["key"] == {"type": "string", "description": topic.key}


def test_each_topic_is_a_channel_itinera_sends_every_contract_of_it_to() -> None:
    document = asyncapi_document()
    channels = {channel["address"]: (cid, channel) for cid, channel in document["channels"].items()}
    assert set(channels) == {topic.name for topic in PUBLISHED_TOPICS}
    for topic in PUBLISHED_TOPICS:
        channel_id, channel = channels[topic.name]
        names = [message_name(contract) for contract in topic.contracts]
        assert sorted(channel["messages"]) == sorted(names)
        (operation,) = [
            op
            for op in document["operations"].values()
            if op["channel"] == {"$ref": f"#/channels/{channel_id}"}
        ]
        assert operation["action"] == "send"
        assert sorted(ref["$ref"].rsplit("/", 1)[1] for ref in operation["messages"]) == sorted(
            names
        )


def run_validator(path: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "node is not on PATH: the AsyncAPI document is checked by @asyncapi/parser under "
            "Node.js 20; install Node.js and run scripts/test (it installs the parser)"
        )
    result = subprocess.run(
        [node, str(VALIDATOR), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    if result.returncode == 2:
        pytest.fail(
            f"the AsyncAPI validator could not run: {result.stderr.strip()}\n"
            "Run scripts/test: it installs @asyncapi/parser into .cache/asyncapi."
        )
    return result


def test_the_official_asyncapi_parser_finds_no_error_in_the_document() -> None:
    result = run_validator(CONTRACTS / "asyncapi.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid AsyncAPI 3.0.0" in result.stdout


def test_the_official_asyncapi_parser_rejects_a_broken_document(tmp_path: Path) -> None:
    document = asyncapi_document()
    document["operations"]["publishTripEvents"]["action"] = "publish"  # AsyncAPI 2's verb
    document["components"]["messages"]["TripCreatedV1"]["payload"] = {
        "$ref": "#/components/schemas/NoSuchSchema"
    }
    broken = tmp_path / "asyncapi.json"
    broken.write_text(dump(document))

    result = run_validator(broken)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "operations/publishTripEvents/action" in result.stdout
    assert "'#/components/schemas/NoSuchSchema' does not exist" in result.stdout


# --- the export command ------------------------------------------------------------------


def test_export_writes_checks_and_removes_what_it_no_longer_generates(tmp_path: Path) -> None:
    out = tmp_path / "contracts"
    runner = CliRunner()

    missing = runner.invoke(cli, ["contracts", "export", "--out", str(out), "--check"])
    assert missing.exit_code == 1
    assert "asyncapi.json: missing" in missing.output
    assert not out.exists()

    assert runner.invoke(cli, ["contracts", "export", "--out", str(out)]).exit_code == 0
    assert (out / "schemas" / "trip-events" / "DestinationAdded.v1.json").is_file()
    checked = runner.invoke(cli, ["contracts", "export", "--out", str(out), "--check"])
    assert checked.exit_code == 0, checked.output

    (out / "asyncapi.json").write_text("{}\n")
    old = out / "schemas" / "trip-events" / "TripExploded.v1.json"
    old.write_text("{}\n")
    stale = runner.invoke(cli, ["contracts", "export", "--out", str(out), "--check"])
    assert stale.exit_code == 1
    assert "asyncapi.json: differs" in stale.output
    assert "schemas/trip-events/TripExploded.v1.json: stale" in stale.output
    assert "itinera contracts export" in stale.output

    assert runner.invoke(cli, ["contracts", "export", "--out", str(out)]).exit_code == 0
    assert not old.exists()
    assert differences(out, document_files()) == []


def test_export_refuses_to_overwrite_a_published_schema_with_a_breaking_change(
    tmp_path: Path,
) -> None:
    out = tmp_path / "contracts"
    runner = CliRunner()
    assert runner.invoke(cli, ["contracts", "export", "--out", str(out)]).exit_code == 0
    published = out / "schemas" / "trip-events" / "TripCreated.v1.json"
    schema = json.loads(published.read_text())
    schema["properties"]["payload_hash"] = {"type": "string"}  # a field the code dropped
    published.write_text(dump(schema))

    refused = runner.invoke(cli, ["contracts", "export", "--out", str(out)])
    assert refused.exit_code == 1
    assert "schemas/trip-events/TripCreated.v1.json: payload_hash: removed" in refused.output
    assert "payload_hash" in published.read_text()

    allowed = runner.invoke(cli, ["contracts", "export", "--out", str(out), "--allow-breaking"])
    assert allowed.exit_code == 0
    assert differences(out, document_files()) == []


# --- helpers -----------------------------------------------------------------------------


def inline(schema: Any, prefix: str, definitions: dict[str, Any]) -> Any:
    """The schema with every `$ref` to `prefix<name>` replaced by what it points to."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(prefix):
            target = definitions[ref.removeprefix(prefix)]
            beside = {key: value for key, value in schema.items() if key != "$ref"}
            return inline({**target, **beside}, prefix, definitions)
        return {key: inline(value, prefix, definitions) for key, value in schema.items()}
    if isinstance(schema, list):
        return [inline(item, prefix, definitions) for item in schema]
    return schema


def sample_of(contract: type[Contract]) -> dict[str, Any]:
    """A valid instance of the contract with every field present, built from its validation
    schema (the first alternative of each union: a nested model rather than null)."""
    schema = contract.model_json_schema(mode="validation")
    value: dict[str, Any] = _sample(schema, schema)
    return value


_STRINGS = {
    "uuid": lambda: str(uuid4()),
    "date-time": lambda: "2027-04-03T09:00:00+09:00",
    "date": lambda: "2027-04-03",
}


def _sample(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    if "$ref" in schema:
        return _sample(root["$defs"][schema["$ref"].removeprefix("#/$defs/")], root)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return _sample(schema["anyOf"][0], root)
    kind = schema.get("type")
    if kind == "object":
        return {name: _sample(field, root) for name, field in schema["properties"].items()}
    if kind == "array":
        return [_sample(schema["items"], root)]
    if kind == "string" and "pattern" in schema:  # the one patterned string: a local time
        local = "2027-04-03T09:00:00"
        assert re.fullmatch(schema["pattern"], local), schema
        return local
    if kind == "string":
        return _STRINGS.get(schema.get("format", ""), lambda: "x")()
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return max(schema.get("minimum", 1.5), 1.5)
    if kind == "boolean":
        return True
    raise AssertionError(f"no sample for {schema}")
