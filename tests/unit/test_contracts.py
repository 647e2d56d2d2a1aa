from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import orjson
import pytest
from pydantic import ValidationError

from streams.contracts import ActivityAdded, TripCreated, parse_trip_event, serialize_event
from streams.headers import headers_of
from streams.outbox import OutboxReader
from streams.position import START, LogPosition
from streams.published_event import event_id_of
from streams.topics import TRIP_EVENTS
from write_side.context import CommandContext
from write_side.event_store import EventStore
from write_side.trips.commands import AddActivity, AddDestination, PlanTrip, When
from write_side.trips.planner import TripPlanner
from write_side.trips.trip import ActivityType


def test_stored_events_map_to_versioned_contracts_and_internal_ones_stay_inside() -> None:
    planner = TripPlanner(EventStore())
    context = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    trip = planner.plan_trip(PlanTrip("Japan", "", date(2027, 4, 1), date(2027, 4, 20)), context)
    destination = planner.add_destination(
        AddDestination(
            trip.trip_id,
            "Kyoto",
            "",
            {"lat": 35.0, "lng": 135.7, "address": ""},
            date(2027, 4, 2),
            date(2027, 4, 6),
        ),
        context,
    )
    planner.add_activity(
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

    batch = OutboxReader(planner.events).read_after(START, 100)

    # Five notifications: three trip events and the destination and activity indexes, which
    # are not published.
    assert batch.last_position == LogPosition(0, 5)
    assert [m.event.event_type for m in batch.messages] == [
        "TripCreated",
        "DestinationAdded",
        "ActivityAdded",
    ]
    assert {m.topic for m in batch.messages} == {TRIP_EVENTS}
    assert {m.key for m in batch.messages} == {str(trip.trip_id).encode()}
    assert [m.event.aggregate_version for m in batch.messages] == [1, 2, 3]
    assert [m.event.schema_version for m in batch.messages] == [1, 2, 2]
    for message in batch.messages:
        assert message.event.actor_id == context.actor_id
        assert message.event.correlation_id == context.correlation_id
        assert message.event.event_id == event_id_of(trip.trip_id, message.event.aggregate_version)
    activity = batch.messages[2].event
    assert isinstance(activity, ActivityAdded)
    assert activity.payload.cost == Decimal("9.99")
    assert activity.payload.currency == "EUR"
    assert activity.payload.start is not None
    assert activity.payload.start.utc == datetime(2027, 4, 3, 0, tzinfo=UTC)  # 9:00 in Tokyo


def test_a_contract_survives_the_wire_unchanged() -> None:
    planner = TripPlanner(EventStore())
    context = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    planner.plan_trip(PlanTrip("Japan", "", date(2027, 4, 1), date(2027, 4, 20)), context)
    (message,) = OutboxReader(planner.events).read_after(START, 10).messages
    parsed = parse_trip_event(serialize_event(message.event))
    assert isinstance(parsed, TripCreated)
    assert parsed == message.event


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'{"event_type": "TripExploded"}',
        b'{"event_type": "TripCreated", "schema_version": 2}',
    ],
)
def test_unknown_or_malformed_messages_are_rejected(raw: bytes) -> None:
    with pytest.raises(ValidationError):
        parse_trip_event(raw)


def test_the_contracts_event_id_is_the_uuid5_of_the_stored_event() -> None:
    from streams.published_event import _event_id_hex

    for version in (1, 2, 99, 123456):
        aggregate_id = uuid4()
        assert UUID(_event_id_hex(aggregate_id, version)) == event_id_of(aggregate_id, version)


def test_readers_ignore_fields_a_newer_producer_added_but_what_we_produce_is_strict() -> None:
    planner = TripPlanner(EventStore())
    context = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    planner.plan_trip(PlanTrip("Japan", "", date(2027, 4, 1), date(2027, 4, 20)), context)
    (message,) = OutboxReader(planner.events).read_after(START, 10).messages
    newer = message.event.model_dump(mode="json")
    newer["region"] = "eu"
    newer["payload"]["cover_photo"] = {"url": "https://example.org/a.jpg"}

    assert parse_trip_event(orjson.dumps(newer)) == message.event
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        TripCreated.model_validate(newer)


def test_an_event_caused_by_another_carries_its_cause_and_the_requests_trace() -> None:
    planner = TripPlanner(EventStore())
    cause, trace = uuid4(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    reacting = CommandContext(uuid4(), uuid4(), causation_id=cause, traceparent=trace)
    planner.plan_trip(PlanTrip("Japan", "", date(2027, 4, 1), date(2027, 4, 20)), reacting)
    planner.plan_trip(
        PlanTrip("Peru", "", date(2027, 4, 1), date(2027, 4, 20)),
        CommandContext(uuid4(), uuid4()),
    )
    caused, requested = OutboxReader(planner.events).read_after(START, 10).messages

    assert dict(headers_of(caused.event, caused.cause))["causation_id"] == str(cause).encode()
    assert dict(headers_of(caused.event, caused.cause))["traceparent"] == trace.encode()
    plain = dict(headers_of(requested.event, requested.cause))
    assert plain["causation_id"] == str(requested.event.correlation_id).encode()
    assert "traceparent" not in plain
