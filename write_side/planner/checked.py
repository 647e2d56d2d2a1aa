"""A draft that keeps every rule, whatever the planner answers: ask, check, ask again with
what was wrong while re-asks are left, then repair what still is."""

from __future__ import annotations

from dataclasses import dataclass

from write_side.planner.draft_rules import DEFAULT_LIMITS
from write_side.planner.drafting import Draft, Limits, PlanningRequest, Problem, Usage
from write_side.planner.ports import ItineraryPlanner, PlannerFailure
from write_side.planner.validation import repair, validate


@dataclass(frozen=True)
class CheckedDraft:
    """`reasks`: how many times the planner was asked again; `repaired`: the problems the
    last answer still had, which repair fixed (empty: it was valid as answered)."""

    draft: Draft
    usage: Usage
    reasks: int
    repaired: tuple[Problem, ...]


async def checked_draft(
    planner: ItineraryPlanner,
    request: PlanningRequest,
    limits: Limits = DEFAULT_LIMITS,
    reasks: int = 2,
) -> CheckedDraft:
    """A valid draft from the planner. A `PlannerFailure` on the first answer propagates (the
    caller decides the job's outcome); one on a re-ask falls back to repairing the draft
    already had."""
    planned = await planner.plan(request)
    draft, usage = planned.draft, planned.usage
    problems = validate(draft, request, limits)
    asked = 0
    while problems and asked < reasks:
        asked += 1
        try:
            planned = await planner.plan(request, feedback=tuple(problems))
        except PlannerFailure:
            usage = _plus(usage, Usage(model=usage.model, currency=usage.currency))
            break
        draft, usage = planned.draft, _plus(usage, planned.usage)
        problems = validate(draft, request, limits)
    if problems:
        draft, problems = repair(draft, request, limits)
    return CheckedDraft(draft, usage, asked, tuple(problems))


def _plus(spent: Usage, more: Usage) -> Usage:
    """Both answers' usage, under the later one's model. One planner reports one currency;
    adding two would mix units."""
    if spent.currency != more.currency:
        raise ValueError(f"usage in {spent.currency} and {more.currency} cannot be added")
    return Usage(
        model=more.model,
        tokens_in=spent.tokens_in + more.tokens_in,
        tokens_out=spent.tokens_out + more.tokens_out,
        cost=spent.cost + more.cost,
        currency=more.currency,
        attempts=spent.attempts + more.attempts,
    )
