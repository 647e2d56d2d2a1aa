"""A trip to draft, shared by the itinerary draft tests (in-process and distributed): Lisbon
over three days with three ideas (activities without a time), and a model's answer of the
structured schema placing one new activity there."""

from __future__ import annotations

from typing import Any

TRIP = {"title": "Lisbon", "start_date": "2027-05-01", "end_date": "2027-05-03", "currency": "EUR"}
LISBON = {
    "name": "Lisbon",
    "location": {"lat": 38.72, "lng": -9.14},
    "arrival_date": "2027-05-01",
    "departure_date": "2027-05-03",
}
IDEAS = (
    ("Jerónimos Monastery", "sightseeing", "10"),
    ("Time Out Market", "restaurant", "25"),
    ("Tram 28", "transport", "3"),
)


def llm_draft(lisbon: str, day: str = "2027-05-02") -> dict[str, Any]:
    """A model's answer of the schema: one new activity in Lisbon (`lisbon`: its id)."""
    item = {
        "title": "LX Factory",
        "description": "Shops in an old mill.",
        "activity_type": "sightseeing",
        "start": f"{day}T10:00",
        "end": f"{day}T12:00",
        "destination_id": lisbon,
        "new_destination": None,
        "idea_key": None,
        "cost": None,
        "currency": None,
        "reason": "You like design.",
    }
    return {
        "summary": "A slow day by the river.",
        "days": [{"day": day, "items": [item]}],
        "destinations": [],
        "leftovers": [],
    }
