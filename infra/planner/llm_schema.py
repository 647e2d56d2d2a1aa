"""The shape a model answers in, and its conversion to a domain `Draft`.

The models are sent as a strict JSON schema (structured outputs), so they keep to the subset
that OpenAI's strict mode and the grammar engines of vLLM, llama.cpp and Ollama all accept:
every field required, `extra="forbid"` (additionalProperties false), nullable as `X | None`,
no defaults, no string formats, patterns or numeric bounds. Dates and times are therefore
plain strings whose format the field descriptions give ("YYYY-MM-DD", "YYYY-MM-DDTHH:MM"),
and a string that does not parse is an answer to ask again about (`AnswerFormatError`), never
a crash. Whether the draft keeps the trip's rules is not decided here: that is validation's.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from write_side.planner.drafting import (
    Draft,
    DraftDay,
    DraftDestination,
    DraftItem,
    Leftover,
    PlanningRequest,
)
from write_side.trips.itinerary import ActivityType

DATE_FORMAT = "YYYY-MM-DD"
LOCAL_TIME_FORMAT = "YYYY-MM-DDTHH:MM"
_LOCAL_TIME = f"Local wall-clock time at the destination, {LOCAL_TIME_FORMAT}."


class AnswerFormatError(ValueError):
    """A value the schema lets through but that cannot be read: a date that is not one, a
    destination id that is not a uuid. The message names where, for a re-ask."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemAnswer(_Strict):
    title: str
    description: str = Field(description="One or two sentences.")
    activity_type: ActivityType
    start: str = Field(description=_LOCAL_TIME)
    end: str = Field(description=_LOCAL_TIME)
    destination_id: str | None = Field(
        description="The id of the trip's destination this item is at; null when it is at a "
        "destination this draft proposes."
    )
    new_destination: str | None = Field(
        description="The key of the destination in `destinations` this item is at; null when "
        "it is at one of the trip's."
    )
    idea_key: str | None = Field(
        description="The key of the idea or candidate this item places; null for your own."
    )
    cost: float | None = Field(description="Per person, in `currency`; null if unknown.")
    currency: str | None = Field(description="ISO 4217 code of `cost`; null without a cost.")
    reason: str = Field(description="Why this item, at this time: one short sentence.")


class DayAnswer(_Strict):
    day: str = Field(description=DATE_FORMAT)
    items: list[ItemAnswer]


class DestinationAnswer(_Strict):
    key: str = Field(description="A short slug that items name this destination by.")
    name: str
    description: str
    lat: float
    lng: float
    time_zone: str = Field(description="IANA time zone, e.g. Europe/Paris.")
    arrival_date: str = Field(description=DATE_FORMAT)
    departure_date: str = Field(description=DATE_FORMAT)
    reason: str


class LeftoverAnswer(_Strict):
    key: str = Field(description="The key of the idea or candidate not placed.")
    title: str
    reason: str = Field(description="Why it could not be placed.")


class DraftAnswer(_Strict):
    """A day-by-day itinerary draft for the trip."""

    summary: str = Field(description="Two or three sentences on the draft as a whole.")
    days: list[DayAnswer]
    destinations: list[DestinationAnswer] = Field(
        description="Destinations proposed in addition to the trip's; usually empty."
    )
    leftovers: list[LeftoverAnswer] = Field(
        description="Every idea or candidate that no item places, with why."
    )


def to_draft(answer: DraftAnswer, request: PlanningRequest) -> Draft:
    """The domain draft an answer means. Raises `AnswerFormatError` naming the first value
    that does not parse; the paths are the domain draft's, as validation's are."""
    destinations = tuple(
        _destination(d, f"destinations[{n}]") for n, d in enumerate(answer.destinations)
    )
    proposed = {d.key: d.time_zone for d in destinations}
    days = tuple(
        DraftDay(
            day=_date(day.day, f"days[{n}].day"),
            items=tuple(
                _item(item, f"days[{n}].items[{m}]", request, proposed)
                for m, item in enumerate(day.items)
            ),
        )
        for n, day in enumerate(answer.days)
    )
    leftovers = tuple(Leftover(key=x.key, title=x.title, reason=x.reason) for x in answer.leftovers)
    return Draft(days=days, destinations=destinations, leftovers=leftovers, summary=answer.summary)


def _item(
    item: ItemAnswer, path: str, request: PlanningRequest, proposed: dict[str, str]
) -> DraftItem:
    destination_id = _uuid(item.destination_id, f"{path}.destination_id")
    place = request.place(destination_id) if destination_id else None
    if item.new_destination is not None and destination_id is None:
        time_zone = proposed.get(item.new_destination)
    else:
        time_zone = place.time_zone if place and item.new_destination is None else None
    return DraftItem(
        title=item.title,
        description=item.description,
        activity_type=item.activity_type,
        start=_local_time(item.start, f"{path}.start"),
        end=_local_time(item.end, f"{path}.end"),
        # An item's zone is its destination's. One that names none, or two, or one that
        # does not exist is validation's to report (with its path); its zone means nothing.
        time_zone=time_zone or "UTC",
        reason=item.reason,
        destination_id=destination_id,
        new_destination=item.new_destination,
        cost=_decimal(item.cost, f"{path}.cost"),
        currency=item.currency,
        idea_key=item.idea_key,
    )


def _destination(d: DestinationAnswer, path: str) -> DraftDestination:
    return DraftDestination(
        key=d.key,
        name=d.name,
        description=d.description,
        lat=d.lat,
        lng=d.lng,
        time_zone=d.time_zone,
        arrival_date=_date(d.arrival_date, f"{path}.arrival_date"),
        departure_date=_date(d.departure_date, f"{path}.departure_date"),
        reason=d.reason,
    )


def _date(text: str, path: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise AnswerFormatError(f"{path}: {text!r} is not a date {DATE_FORMAT}") from None


def _local_time(text: str, path: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise AnswerFormatError(f"{path}: {text!r} is not a time {LOCAL_TIME_FORMAT}") from None


def _uuid(text: str | None, path: str) -> UUID | None:
    if text is None:
        return None
    try:
        return UUID(text)
    except ValueError:
        raise AnswerFormatError(
            f"{path}: {text!r} is not the id of a destination of the trip; an item at a "
            "proposed destination gives its key as new_destination"
        ) from None


def _decimal(cost: float | None, path: str) -> Decimal | None:
    if cost is None:
        return None
    amount = Decimal(repr(cost))  # the shortest decimal that reads back as the float
    if not amount.is_finite():
        raise AnswerFormatError(f"{path}: {cost!r} is not an amount")
    return amount
