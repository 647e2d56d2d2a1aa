"""When and for how long the offline scheduler places each kind of activity, knowing no
opening hours: the usual hours of a traveller's day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from write_side.planner.drafting import Pace
from write_side.trips.itinerary import ActivityType


@dataclass(frozen=True)
class Window:
    """Local hours, in minutes after midnight: the earliest start and the latest end."""

    opens: int
    closes: int

    def within(self, other: Window) -> Window | None:
        opens, closes = max(self.opens, other.opens), min(self.closes, other.closes)
        return Window(opens, closes) if opens < closes else None


def hours(opens: str, closes: str) -> Window:
    """A window from "HH:MM" times ("24:00": midnight at the day's end)."""

    def minutes(text: str) -> int:
        hour, minute = text.split(":")
        return int(hour) * 60 + int(minute)

    return Window(minutes(opens), minutes(closes))


WHOLE_DAY = hours("00:00", "24:00")
# A travel day: the morning at the place being left, the late afternoon at the next one.
DEPARTING = hours("00:00", "14:00")
ARRIVING = hours("15:00", "24:00")

BREAKFAST = hours("07:30", "10:00")
BRUNCH = hours("10:00", "12:30")
LUNCH = hours("12:00", "14:30")
DINNER = hours("19:00", "21:30")
CHECK_IN = hours("15:00", "16:30")

WINDOWS: dict[ActivityType, tuple[Window, ...]] = {
    ActivityType.RESTAURANT: (LUNCH, DINNER),
    ActivityType.SIGHTSEEING: (hours("09:00", "18:00"),),
    ActivityType.OTHER: (hours("09:00", "21:00"),),
    ActivityType.TRANSPORT: (hours("07:00", "22:00"),),
    ActivityType.HOTEL: (CHECK_IN,),
}

MINUTES: dict[ActivityType, int] = {
    ActivityType.RESTAURANT: 90,
    ActivityType.SIGHTSEEING: 120,
    ActivityType.OTHER: 120,
    ActivityType.TRANSPORT: 60,
    ActivityType.HOTEL: 30,
}

# A meal the idea names ("Kaiseki dinner", "Breakfast at the market") is had at its hours.
NAMED_MEALS: tuple[tuple[str, Window], ...] = (
    ("breakfast", BREAKFAST),
    ("brunch", BRUNCH),
    ("lunch", LUNCH),
    ("dinner", DINNER),
    ("supper", DINNER),
)


def windows_for(activity_type: ActivityType, title: str, description: str) -> tuple[Window, ...]:
    """When an activity may be placed: its type's usual hours, or for a meal that says which
    it is, that meal's."""
    if activity_type == ActivityType.RESTAURANT:
        text = f"{title} {description}".lower()
        named = tuple(dict.fromkeys(window for word, window in NAMED_MEALS if word in text))
        if named:
            return named
    return WINDOWS[activity_type]


# Meals and the check-in keep their hours; the rest of the day is a tour between them.
FIXED = frozenset({ActivityType.RESTAURANT, ActivityType.HOTEL})

ACTIVITIES_PER_DAY: dict[Pace, int] = {Pace.RELAXED: 2, Pace.MODERATE: 3, Pace.PACKED: 5}
MEALS_PER_DAY = 2

BUFFER = timedelta(minutes=15)  # between two items: to walk, queue, breathe
GRID_MINUTES = 5  # items start on round times


def counts_toward_pace(activity_type: ActivityType) -> bool:
    """Meals have their own limit; a hotel check-in is a stop on the way, not an activity."""
    return activity_type not in FIXED
