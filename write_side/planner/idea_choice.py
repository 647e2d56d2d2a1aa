"""Which ideas the offline scheduler tries to place, in which order, and what the budget
allows: must-sees first, then the trip's own ideas, then recommendations while room is
left; anything the travellers avoid is left out."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from write_side.planner.draft_rules import blank
from write_side.planner.drafting import Idea, Leftover, PlanningRequest, Preferences


@dataclass(frozen=True)
class Choice:
    """An idea to place, and why it is in the draft (the item's reason)."""

    idea: Idea
    why: str


def choices(request: PlanningRequest) -> tuple[list[Choice], list[Leftover]]:
    """The ideas to try in order, and those left out from the start (with why)."""
    preferences = request.preferences
    seen: set[str] = set()
    must_see: list[Choice] = []
    others: list[Choice] = []
    left: list[Leftover] = []
    for idea in (*request.ideas, *request.candidates):
        avoided = _first_match(preferences.avoid, f"{idea.title}\n{idea.description}")
        if idea.key in seen:
            left.append(Leftover(idea.key, idea.title, "another idea has the same key"))
        elif blank(idea.title):
            left.append(Leftover(idea.key, idea.title, "it has no title"))
        elif avoided is not None:
            left.append(Leftover(idea.key, idea.title, f"avoided: {avoided}"))
        elif _first_match(preferences.must_see, idea.title) is not None:
            must_see.append(Choice(idea, "must-see"))
        else:
            others.append(Choice(idea, _why(idea)))
        seen.add(idea.key)
    return must_see + others, left


def _why(idea: Idea) -> str:
    if idea.source == "idea":
        return "your idea"
    return f"recommended: {idea.reason}" if idea.reason.strip() else "recommended"


def _first_match(terms: tuple[str, ...], text: str) -> str | None:
    """The first term the text contains, ignoring case (blank terms match nothing)."""
    folded = text.casefold()
    return next((term for term in terms if term.strip() and term.casefold() in folded), None)


@dataclass
class Budget:
    """What the travellers' budget still allows. Only costs in its currency count; any other
    cost is unknown, and said so."""

    limit: Decimal | None
    currency: str | None
    spent: Decimal = Decimal(0)
    uncounted: int = 0

    @classmethod
    def of(cls, preferences: Preferences, trip_currency: str | None) -> Budget:
        return cls(preferences.budget, preferences.currency or trip_currency)

    def allows(self, idea: Idea) -> bool:
        return not self._counts(idea) or self.spent + (idea.cost or 0) <= (self.limit or 0)

    def spend(self, idea: Idea) -> None:
        if self._counts(idea):
            self.spent += idea.cost or 0
        elif self.unknown(idea):
            self.uncounted += 1

    def unknown(self, idea: Idea) -> bool:
        """A cost the budget cannot weigh: one in another currency (or in none)."""
        return self.limit is not None and idea.cost is not None and not self._counts(idea)

    def _counts(self, idea: Idea) -> bool:
        return (
            self.limit is not None
            and idea.cost is not None
            and idea.cost.is_finite()
            and self.currency is not None
            and idea.currency == self.currency
        )
