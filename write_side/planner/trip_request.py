"""The planning request for a trip as it is now: its dates and currency, its destinations
with their zones, the activities it already schedules (planned around) and those it has no
time for yet (the ideas to arrange), the recommendations to draw from, and the preferences
the request gave."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from write_side.planner.drafting import Booked, Idea, Pace, Place, PlanningRequest, Preferences
from write_side.trips.itinerary import in_order
from write_side.trips.trip import Trip


def preferences_of(data: dict[str, Any]) -> Preferences:
    """Preferences from their recorded form (what the request event holds)."""
    budget = data.get("budget")
    return Preferences(
        interests=tuple(data.get("interests", ())),
        pace=Pace(data.get("pace", Pace.MODERATE)),
        budget=None if budget is None else Decimal(str(budget)),
        currency=data.get("currency"),
        must_see=tuple(data.get("must_see", ())),
        avoid=tuple(data.get("avoid", ())),
        notes=data.get("notes", ""),
    )


def planning_request(
    trip: Trip, preferences: Preferences, candidates: Sequence[Idea] = ()
) -> PlanningRequest:
    places: list[Place] = []
    booked: list[Booked] = []
    ideas: list[Idea] = []
    for destination in in_order(trip.destinations.values()):
        zone = destination.zone
        places.append(
            Place(
                destination_id=destination.id,
                name=destination.name,
                description=destination.description,
                lat=float(destination.location["lat"]),
                lng=float(destination.location["lng"]),
                time_zone=zone,
                arrival_date=destination.arrival_date,
                departure_date=destination.departure_date,
            )
        )
        for activity in in_order(destination.activities.values()):
            if activity.start is not None and activity.end is not None:
                zone_of_start = activity.start.time_zone
                # One zone for both ends: a flight's landing read on its departure's clock.
                end = activity.end.utc.astimezone(ZoneInfo(zone_of_start)).replace(tzinfo=None)
                booked.append(
                    Booked(
                        activity_id=activity.id,
                        destination_id=destination.id,
                        title=activity.title,
                        activity_type=activity.activity_type,
                        start=activity.start.local,
                        end=end,
                        time_zone=zone_of_start,
                    )
                )
            elif activity.start is None:
                ideas.append(
                    Idea(
                        key=str(activity.id),
                        title=activity.title,
                        description=activity.description,
                        activity_type=activity.activity_type,
                        source="idea",
                        destination_id=destination.id,
                        cost=activity.cost,
                        currency=activity.currency,
                    )
                )
    return PlanningRequest(
        trip_id=trip.id,
        title=trip.title,
        description=trip.description,
        start_date=trip.start_date,
        end_date=trip.end_date,
        currency=trip.currency,
        places=tuple(places),
        booked=tuple(booked),
        ideas=tuple(ideas),
        candidates=tuple(candidates),
        preferences=preferences,
    )
