"""Request and response bodies of the itinerary draft routes."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints

from api.schemas import Amount, Body, Currency
from api.text import lines, one_line
from read_side.views import View
from write_side.planner.drafting import Pace, Preferences

Word = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=80),
    AfterValidator(one_line),
]


class DraftRequestBody(Body):
    """What the travellers want; everything optional. The draft is made from the trip as it
    is when the job runs: its dates, destinations, scheduled activities (planned around) and
    activities without a time yet (the ideas it arranges)."""

    interests: list[Word] = Field(default_factory=list, max_length=20)
    pace: Pace = Pace.MODERATE
    budget: Amount | None = Field(
        default=None, description="Per person, for the whole trip's activities"
    )
    currency: Currency | None = Field(default=None, description="Of the budget (else the trip's)")
    must_see: list[Word] = Field(default_factory=list, max_length=20)
    avoid: list[Word] = Field(default_factory=list, max_length=20)
    notes: Annotated[str, StringConstraints(max_length=2000), AfterValidator(lines)] = ""

    def preferences(self) -> Preferences:
        return Preferences(
            interests=tuple(self.interests),
            pace=self.pace,
            budget=self.budget,
            currency=self.currency,
            must_see=tuple(self.must_see),
            avoid=tuple(self.avoid),
            notes=self.notes,
        )


class AcceptBody(Body):
    item_ids: list[UUID] | None = Field(
        default=None,
        max_length=500,
        description="The items (activities or proposed destinations) to accept; omitted: all",
    )


class DraftQueuedView(View):
    id: UUID
    draft_id: UUID
    trip_id: UUID
    status: Literal["queued", "running", "ready", "failed"]


class ItemErrorView(View):
    code: str
    message: str


class AcceptedItemView(View):
    item_id: UUID
    kind: Literal["destination", "activity"]
    outcome: Literal["accepted", "already_accepted", "refused"]
    entity_id: UUID | None
    error: ItemErrorView | None


class AcceptanceView(View):
    acceptance_id: UUID
    draft_id: UUID
    trip_id: UUID
    version: int
    items: list[AcceptedItemView]
