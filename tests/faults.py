"""Fault injection into projections, for tests: a projection whose fold raises on chosen
events. Real processes load it through ITINERA_PROJECTION_WRAPPER (see infra.settings), so
nothing of our infrastructure is mocked: the event is genuinely poison to the projection."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from projections.engine.projection import Handler, Projection
from streams.contracts import EventEnvelope, TripDetailsUpdated

FAULT_FILE = "ITINERA_TEST_FAULT_FILE"


class InjectedFaultError(RuntimeError):
    pass


def failing_on(
    projection: Projection[Any], poison: Callable[[EventEnvelope], bool]
) -> Projection[Any]:
    """The projection, except that folding an event for which `poison` is true raises."""

    def guarded(handler: Handler[Any, Any]) -> Handler[Any, Any]:
        def apply(state: Any, event: Any) -> Any:
            if poison(event):
                raise InjectedFaultError(f"injected fault on {event.event_type}")
            return handler(state, event)

        return apply

    return replace(projection, handlers={t: guarded(h) for t, h in projection.handlers.items()})


def titled_poison(event: EventEnvelope) -> bool:
    return isinstance(event, TripDetailsUpdated) and "POISON" in (event.payload.title or "")


def poison_titles_while_fault_file_exists(projection: Projection[Any]) -> Projection[Any]:
    """ITINERA_PROJECTION_WRAPPER hook: the trip views projection fails on a title change to
    a title containing POISON for as long as the file named by ITINERA_TEST_FAULT_FILE exists
    (remove the file: the fault is fixed)."""
    if projection.name != "trip_views":
        return projection
    flag = Path(os.environ[FAULT_FILE])
    return failing_on(projection, lambda event: titled_poison(event) and flag.exists())


def next_version_shouting(projection: Projection[Any]) -> Projection[Any]:
    """ITINERA_PROJECTION_WRAPPER hook: the trip views projection as a next version would
    declare it, with a changed shape (titles in upper case)."""
    if projection.name != "trip_views":
        return projection
    finish = projection.finish

    def shouting(document: Any) -> Any:
        finished = finish(document)
        return {**finished, "title": finished["title"].upper()}

    return replace(projection, version=projection.version + 1, finish=shouting)
