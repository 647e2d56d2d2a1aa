"""Every domain event is either published or deliberately kept in the event store, and every
published event type has a decision (apply or ignore) in every projection that reads its
topic: a new event cannot slip past the contracts or the read models unnoticed."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

from eventsourcing.domain import Aggregate

import write_side
from projections.catalogue import PROJECTIONS
from streams.mapping import PUBLISHED, UNPUBLISHED
from write_side.traced_aggregate import TracedAggregate


def aggregates() -> list[type[Any]]:
    found = set()
    for module in pkgutil.walk_packages(write_side.__path__, "write_side."):
        for _, value in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            if issubclass(value, TracedAggregate) and value is not TracedAggregate:
                found.add(value)
    return sorted(found, key=lambda a: a.__qualname__)


def events_of(aggregate: type[Any]) -> set[type[Any]]:
    """The event classes the aggregate can record: not the `Event` base every aggregate has,
    nor eventsourcing's default `Created` class when the creation event has another name."""
    found = {
        name: value
        for name, value in vars(aggregate).items()
        if inspect.isclass(value) and issubclass(value, Aggregate.Event) and name != "Event"
    }
    creations = [name for name, value in found.items() if issubclass(value, Aggregate.Created)]
    if len(creations) > 1:
        found.pop("Created")
    return set(found.values())


def test_every_event_of_every_aggregate_is_published_or_kept_on_purpose() -> None:
    found = aggregates()
    assert {a.__name__ for a in found} >= {"Trip", "User", "DestinationIndex", "EmailIndex"}
    published = {p.event_class for p in PUBLISHED}
    for aggregate in found:
        events = events_of(aggregate)
        assert events, f"{aggregate.__name__} has no events?"
        if aggregate in UNPUBLISHED:
            assert not events & published, f"{aggregate.__name__} is internal but published"
        else:
            missing = sorted(e.__qualname__ for e in events - published)
            assert not missing, f"events with no published contract: {missing}"


def test_every_published_event_type_has_a_decision_in_every_projection_reading_it() -> None:
    for projection in PROJECTIONS:
        mine = [p for p in PUBLISHED if p.topic in projection.topics]
        assert mine, f"{projection.name} reads topics with nothing on them"
        undecided = [p.contract.__name__ for p in mine if not projection.decides(p.contract)]
        assert not undecided, f"{projection.name} has no decision for {undecided}"


def test_an_undecided_event_fails_the_fold_loudly() -> None:
    from dataclasses import replace
    from uuid import uuid4

    import pytest

    from projections.engine.projection import UnmappedEventError
    from projections.trip_views import TRIP_VIEWS
    from streams.contracts import TripCreated
    from tests.builders import trip_created

    forgetful = replace(
        TRIP_VIEWS, handlers={k: v for k, v in TRIP_VIEWS.handlers.items() if k is not TripCreated}
    )
    with pytest.raises(UnmappedEventError):
        forgetful.fold([trip_created(uuid4(), uuid4())], None)
