"""A large, realistic event history, written fast: trips are planned through the Trip
aggregate in memory (its own guards run) and saved many at a time, as the application would
save them one by one. Each trip gets members, destinations with timed, costed activities,
reorders, title changes and status changes, like a trip planned over weeks."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from write_side.context import CommandContext, acting_as
from write_side.event_store import EventStore
from write_side.trips.access import Role, TripStatus
from write_side.trips.itinerary import ActivityType, LocalTime
from write_side.trips.trip import Trip

ZONES = ("Asia/Tokyo", "Europe/Paris", "America/New_York", "Europe/Berlin")


def planned_trip(rng: random.Random, owner: UUID, events: int) -> Trip:
    """One trip with about `events` events."""
    start = date(2027, 1, 1) + timedelta(days=rng.randrange(300))
    with acting_as(CommandContext(actor_id=owner, correlation_id=uuid4())):
        trip = Trip.plan(
            title=f"Trip {rng.randrange(10**6)}",
            description="Planned together",
            start_date=start,
            end_date=start + timedelta(days=14),
            creator_id=owner,
        )
        for _ in range(rng.randrange(1, 4)):
            trip.add_member(uuid4(), rng.choice([Role.EDITOR, Role.VIEWER]))
        destinations: list[UUID] = []
        activities: list[UUID] = []
        while trip.version < events:
            roll = rng.random()
            if roll < 0.15 or not destinations:
                day = start + timedelta(days=2 * len(destinations) % 12)
                destinations.append(
                    trip.add_destination(
                        name=f"Stop {len(destinations)}",
                        description="",
                        location={"lat": rng.uniform(-60, 60), "lng": rng.uniform(-180, 180)},
                        arrival_date=day,
                        departure_date=day + timedelta(days=2),
                    )
                )
            elif roll < 0.6:
                destination = trip.destination(rng.choice(destinations))
                at = datetime.combine(destination.arrival_date, datetime.min.time())
                zone = rng.choice(ZONES)
                currency = rng.choice(["EUR", "JPY", "USD"])
                cents = Decimal(rng.randrange(100, 10_000)) / 100
                cost = cents.to_integral_value() if currency == "JPY" else cents
                activities.append(
                    trip.add_activity(
                        destination_id=destination.id,
                        title=f"Activity {len(activities)}",
                        description="Worth it",
                        activity_type=rng.choice(list(ActivityType)),
                        start=LocalTime.at(at + timedelta(hours=9), zone),
                        end=LocalTime.at(at + timedelta(hours=11), zone),
                        cost=cost,
                        currency=currency,
                    )
                )
            elif roll < 0.75 and activities:
                trip.update_activity(rng.choice(activities), {"title": f"Renamed {trip.version}"})
            elif roll < 0.85 and len(destinations) > 1:
                trip.move_destination(rng.choice(destinations), None)
            elif roll < 0.9 and trip.status == TripStatus.DRAFT:
                trip.change_status(TripStatus.PLANNED)
            else:
                trip.update_details(title=f"Trip v{trip.version}")
    return trip


def write_history(
    events: EventStore, trips: int, events_per_trip: int, *, seed: int = 7, batch: int = 200
) -> Iterator[int]:
    """Save `trips` trips; yields the number saved so far after each batch."""
    rng = random.Random(seed)
    owners = [uuid4() for _ in range(max(trips // 20, 1))]
    saved = 0
    while saved < trips:
        chunk = [
            planned_trip(rng, rng.choice(owners), events_per_trip)
            for _ in range(min(batch, trips - saved))
        ]
        events.save(*chunk)
        saved += len(chunk)
        yield saved
