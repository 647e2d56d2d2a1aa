"""When each activity starts, for reminders: a trip's scheduled activities. Pure; no I/O.

Reminders are given by a timer (infra/reminders.py) that asks this read model which
activities start within the lead time; an activity moved gets a new start instant here, and
so a new reminder.
"""

from __future__ import annotations

from typing import TypedDict

from projections.engine.projection import Projection
from streams import contracts as c
from streams.topics import TRIP_EVENTS


class Scheduled(TypedDict):
    title: str
    destination_id: str
    starts_at: str | None  # the UTC instant, ISO 8601; None: not scheduled


class Schedule(TypedDict):
    activities: dict[str, Scheduled]


def _copy(schedule: Schedule) -> Schedule:
    return Schedule(activities={k: Scheduled(**v) for k, v in schedule["activities"].items()})


ACTIVITY_SCHEDULE: Projection[Schedule] = Projection(
    name="activity_schedule", version=1, topics=(TRIP_EVENTS,), begin=_copy
)
ACTIVITY_SCHEDULE.ignores(
    c.SyncConflictRecorded,
    c.TripDetailsUpdated,
    c.TripStatusChanged,
    c.TripVisibilityChanged,
    c.TripCurrencyChosen,
    c.TripArchived,  # reminders check the trip: an archived one has no one to remind
    c.TripRestored,
    c.DestinationAdded,
    c.DestinationUpdated,
    c.DestinationMoved,
    c.DestinationTimeZoneSet,
    c.ActivityMoved,
    c.MemberAdded,
    c.MemberRoleChanged,
    c.MemberRemoved,
)


def _of(schedule: Schedule | None) -> Schedule:
    return schedule if schedule is not None else Schedule(activities={})


@ACTIVITY_SCHEDULE.applies(c.TripCreated)
def _created(schedule: Schedule | None, event: c.TripCreated) -> Schedule:
    return _of(schedule)


@ACTIVITY_SCHEDULE.applies(c.ActivityAdded)
def _added(schedule: Schedule | None, event: c.ActivityAdded) -> Schedule:
    found, p = _of(schedule), event.payload
    found["activities"][str(p.activity_id)] = Scheduled(
        title=p.title,
        destination_id=str(p.destination_id),
        starts_at=None if p.start is None else p.start.utc.isoformat(),
    )
    return found


@ACTIVITY_SCHEDULE.applies(c.ActivityUpdated)
def _updated(schedule: Schedule | None, event: c.ActivityUpdated) -> Schedule:
    found, p = _of(schedule), event.payload
    activity = found["activities"].get(str(p.activity_id))
    if activity is None:
        return found
    if "title" in p.changed and p.changes.title is not None:
        activity["title"] = p.changes.title
    if "start" in p.changed:
        start = p.changes.start
        activity["starts_at"] = None if start is None else start.utc.isoformat()
    return found


@ACTIVITY_SCHEDULE.applies(c.ActivityRemoved)
def _removed(schedule: Schedule | None, event: c.ActivityRemoved) -> Schedule:
    found = _of(schedule)
    found["activities"].pop(str(event.payload.activity_id), None)
    return found


@ACTIVITY_SCHEDULE.applies(c.DestinationRemoved)
def _destination_removed(schedule: Schedule | None, event: c.DestinationRemoved) -> Schedule:
    found, gone = _of(schedule), str(event.payload.destination_id)
    found["activities"] = {
        k: v for k, v in found["activities"].items() if v["destination_id"] != gone
    }
    return found
