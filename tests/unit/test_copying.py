"""write_side.copying: the event store's copies of aggregates share nothing that can change."""

from __future__ import annotations

import copy
import dataclasses
from collections import UserDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID, uuid4

from write_side.context import CommandContext, acting_as
from write_side.copying import copied
from write_side.trips.itinerary import ActivityType, LocalTime
from write_side.trips.trip import Role, Trip

VALUES = (str, int, float, bool, bytes, type(None), UUID, date, Decimal, Enum)


def planned_trip() -> Trip:
    """A trip with an editor and 3 destinations of 3 timed, costed activities."""
    with acting_as(CommandContext(actor_id=uuid4(), correlation_id=uuid4())):
        trip = Trip("Japan", "Spring", date(2030, 5, 1), date(2030, 5, 30), uuid4())
        trip.add_member(uuid4(), Role.EDITOR)
        for d in range(3):
            day = date(2030, 5, d + 1)
            where = {"lat": 35.0 + d, "lng": 135.0 + d, "address": f"Stop {d}"}
            place = trip.add_destination(
                name=f"Stop {d}",
                description="",
                location=where,
                arrival_date=day,
                departure_date=day,
            )
            for a in range(3):
                start, end = (
                    LocalTime.at(datetime(2030, 5, d + 1, 8 + a, minute), "Asia/Tokyo")
                    for minute in (0, 30)
                )
                trip.add_activity(
                    destination_id=place,
                    title=f"Activity {a}",
                    description="Worth it",
                    activity_type=ActivityType.SIGHTSEEING,
                    start=start,
                    end=end,
                    cost=Decimal("12.50"),
                    currency="EUR",
                )
    trip.collect_events()
    return trip


def reachable(value: Any) -> Iterator[Any]:
    """Every object in the tree under `value` (itself included), values as leaves."""
    yield value
    if is_immutable(value):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from reachable(key)
            yield from reachable(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from reachable(item)
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        yield from reachable(vars(value))


def is_immutable(value: Any) -> bool:
    if isinstance(value, VALUES):
        return True
    params = getattr(type(value), "__dataclass_params__", None)
    return bool(params and params.frozen) and all(
        is_immutable(getattr(value, f.name)) for f in dataclasses.fields(value)
    )


def test_a_copied_trip_equals_the_original_and_shares_nothing_that_can_change() -> None:
    trip = planned_trip()
    twin = copied(trip)
    assert type(twin) is Trip
    assert vars(twin) == vars(trip)
    original = {id(found): found for found in reachable(trip)}
    shared = [found for found in reachable(twin) if id(found) in original]
    assert shared, "values (strings, UUIDs, times) are shared, not copied"
    assert [found for found in shared if not is_immutable(found)] == []


def test_changing_the_copy_leaves_the_original_as_it_was() -> None:
    trip = planned_trip()
    before = copy.deepcopy(vars(trip))
    twin = copied(trip)
    place = next(iter(twin.destinations))
    with acting_as(CommandContext(actor_id=trip.creator_id, correlation_id=uuid4())):
        twin.update_details(title="Renamed")
        twin.add_member(uuid4(), Role.VIEWER)
        twin.add_activity(
            destination_id=place,
            title="One more",
            description="",
            activity_type=ActivityType.OTHER,
            start=None,
            end=None,
            cost=None,
            currency=None,
        )
    twin.destinations[place].location["address"] = "Elsewhere"
    next(iter(twin.destinations[place].activities.values())).changed_at["title"] = 99
    assert vars(trip) == before
    assert twin.version == trip.version + 3


@dataclass
class WithASet:
    tags: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class FrozenWithAList:
    items: list[int]


class OwnProtocol(UserDict[str, list[int]]):
    def __deepcopy__(self, memo: dict[int, Any]) -> OwnProtocol:
        twin = OwnProtocol()
        twin.data = {key: [*items, 0] for key, items in self.data.items()}  # tells it was used
        return twin


def test_what_it_does_not_know_is_deep_copied_not_shared() -> None:
    holder = WithASet({"a"})
    assert copied(holder).tags is not holder.tags
    frozen = FrozenWithAList([1])
    assert copied(frozen) is not frozen and copied(frozen).items == [1]
    assert copied({(1, 2): [3]}) == {(1, 2): [3]}  # a key it does not know: deepcopy
    assert copied(OwnProtocol({"a": [1]})).data == {"a": [1, 0]}


def test_a_frozen_dataclass_of_values_is_shared() -> None:
    when = LocalTime.at(datetime(2030, 5, 1, 8), "Asia/Tokyo")
    assert copied(when) is when
    assert copied([when])[0] is when
