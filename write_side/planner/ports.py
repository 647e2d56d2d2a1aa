"""The planner port: one way to ask for a draft, whatever makes it (the offline scheduler, an
OpenAI-compatible model), and the failures every adapter maps its own errors onto."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from write_side.planner.drafting import Planned, PlanningRequest, Problem


class ItineraryPlanner(Protocol):
    """`model`: what the job records as having made the draft ("offline-scheduler-1", an LLM
    model name); part of the cache key."""

    @property
    def model(self) -> str: ...

    async def plan(self, request: PlanningRequest, feedback: Sequence[Problem] = ()) -> Planned:
        """A draft for the request. `feedback`: what was wrong with the previous draft, for a
        planner that can be asked again (the offline scheduler ignores it). Raises
        `PlannerFailure` when no draft can be had."""
        ...

    async def aclose(self) -> None:
        """Release what it holds (an HTTP client's connections)."""
        ...


class PlannerFailure(Exception):
    """Why a planner gave no draft. `code` is stable (it becomes the job's reason);
    `user_fault` says whether the request itself caused it (a refusal), which decides
    whether the quota is refunded; `retry_later` whether the same request may succeed later
    (a timeout, a rate limit, a server error)."""

    code = "planner_failed"
    user_fault = False
    retry_later = True

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PlannerRefusedError(PlannerFailure):
    """The model refused the request."""

    code = "refused"
    user_fault = True
    retry_later = False


class ContentFilteredError(PlannerFailure):
    """The provider's content filter stopped the answer."""

    code = "content_filtered"
    user_fault = True
    retry_later = False


class TruncatedAnswerError(PlannerFailure):
    """The answer hit the output limit even when asked for less."""

    code = "truncated"


class PlannerTimeoutError(PlannerFailure):
    code = "timeout"


class PlannerRateLimitedError(PlannerFailure):
    code = "rate_limited"


class PlannerUnavailableError(PlannerFailure):
    """The provider answered with a server error, or could not be reached."""

    code = "provider_unavailable"


class PlannerMisconfiguredError(PlannerFailure):
    """The provider refused our credentials or model: an operator must act."""

    code = "provider_misconfigured"
    retry_later = False


class InvalidAnswerError(PlannerFailure):
    """The answer was not a draft at all (not the schema), even after asking again."""

    code = "invalid_answer"
