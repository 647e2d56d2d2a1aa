"""The itinerary planner over any OpenAI-compatible Chat Completions endpoint (OpenAI, vLLM,
llama.cpp server, Ollama: `base_url` chooses), with structured outputs: the answer's strict
JSON schema is `DraftAnswer`'s.

One `plan()` is one ask, plus at most one more inside it when the answer could not be used
as it came: cut off at the output limit (asked again for a shorter draft), or not a draft of
the schema (asked again, told what was wrong). The second answer is final either way:
`TruncatedAnswerError` or `InvalidAnswerError`. Whether a draft keeps the trip's rules is the
caller's to check (`checked_draft`), and it re-asks through `feedback`: this planner keeps no
conversation, so a re-ask is the first ask plus one message listing the problems, and the
model answers with a full new draft.

Rate limits, server errors and timeouts are retried by the SDK itself (`max_retries`, with
backoff honouring Retry-After); what is left after them maps onto `PlannerFailure`:

| provider outcome | failure (code) |
| --- | --- |
| `message.refusal` | `PlannerRefusedError` (refused) |
| finish_reason content_filter | `ContentFilteredError` (content_filtered) |
| finish_reason length, twice | `TruncatedAnswerError` (truncated) |
| content not of the schema, or values that do not parse, twice | `InvalidAnswerError` |
| no answer within `timeout`; 408 | `PlannerTimeoutError` (timeout) |
| 429 | `PlannerRateLimitedError` (rate_limited) |
| 429 insufficient_quota; 400, 401, 403, 404, 422 | `PlannerMisconfiguredError` |
| 5xx, 409, connection refused or reset, not a completion | `PlannerUnavailableError` |

A 400 is a request the provider will never take as built (a model without structured
outputs, a prompt beyond its context, a parameter it does not know): an operator must choose
another model or endpoint, so it is "misconfigured", not worth a retry.

Usage adds up the asks of one `plan()` (tokens of an answer that could not be used are paid
for too); its cost is tokens * price per million, in `currency`, to 6 decimal places.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import openai
import pydantic

from infra.planner.llm_schema import AnswerFormatError, DraftAnswer, to_draft
from infra.planner.prompt import conversation, truncated_message, unreadable_message
from write_side.planner.drafting import Draft, Limits, Planned, PlanningRequest, Problem, Usage
from write_side.planner.ports import (
    ContentFilteredError,
    InvalidAnswerError,
    PlannerFailure,
    PlannerMisconfiguredError,
    PlannerRateLimitedError,
    PlannerRefusedError,
    PlannerTimeoutError,
    PlannerUnavailableError,
    TruncatedAnswerError,
)

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

    from infra.settings import Settings

log = logging.getLogger(__name__)

_MILLION = Decimal(1_000_000)
_COST_QUANTUM = Decimal("0.000001")


@dataclass(frozen=True)
class _Reply:
    """One answer: its tokens, and a draft or else what it means (`failure`, if it is the
    last) and the message that asks again (`ask_again`)."""

    tokens_in: int
    tokens_out: int
    draft: Draft | None = None
    failure: PlannerFailure | None = None
    ask_again: str = ""


class OpenAIPlanner:
    """An `ItineraryPlanner`. The client is built on the first `plan()`, not before;
    `aclose()` releases its connections."""

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str,
        model: str,
        timeout: float = 60.0,
        max_retries: int = 2,
        max_output_tokens: int = 8000,
        price_in_per_mtok: Decimal = Decimal(0),
        price_out_per_mtok: Decimal = Decimal(0),
        currency: str = "USD",
        limits: Limits = Limits(),  # noqa: B008 (frozen)
    ) -> None:
        if not api_key:
            raise ValueError("an API key is required (any text for servers that ignore it)")
        self._base_url = base_url
        self._api_key = api_key
        self._model = model
        self._timeout = timeout
        self._max_retries = max_retries
        self._max_output_tokens = max_output_tokens
        self._price_in = price_in_per_mtok
        self._price_out = price_out_per_mtok
        self._currency = currency
        self._limits = limits
        self._client: openai.AsyncOpenAI | None = None

    def __repr__(self) -> str:
        return f"OpenAIPlanner(model={self._model!r}, base_url={self._base_url!r})"

    @property
    def model(self) -> str:
        return self._model

    async def plan(self, request: PlanningRequest, feedback: Sequence[Problem] = ()) -> Planned:
        messages = conversation(request, feedback, self._limits)
        replies = [await self._ask(request, messages)]
        if replies[0].draft is None:
            log.info("asking %s again: %s", self._model, replies[0].failure)
            again: ChatCompletionMessageParam = {"role": "user", "content": replies[0].ask_again}
            replies.append(await self._ask(request, [*messages, again]))
        last = replies[-1]
        if last.draft is None:
            assert last.failure is not None
            raise last.failure
        return Planned(draft=last.draft, usage=self._usage(replies))

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def _ask(
        self, request: PlanningRequest, messages: list[ChatCompletionMessageParam]
    ) -> _Reply:
        try:
            raw = await self._openai().chat.completions.with_raw_response.parse(
                model=self._model,
                messages=messages,
                response_format=DraftAnswer,
                extra_body={self._output_limit_field(): self._max_output_tokens},
            )
        except openai.APIError as error:
            raise self._failure(error) from error
        try:
            completion = raw.parse()
        except openai.LengthFinishReasonError as error:
            tokens_in, tokens_out = _tokens(error.completion.usage)
            failure = TruncatedAnswerError(
                f"the answer reached the output limit ({self._max_output_tokens} tokens)"
            )
            return _Reply(tokens_in, tokens_out, failure=failure, ask_again=truncated_message())
        except openai.ContentFilterFinishReasonError as error:
            stopped = "the provider's content filter stopped the answer"
            raise ContentFilteredError(stopped) from error
        except pydantic.ValidationError as error:
            tokens_in, tokens_out = _tokens_in_body(raw.http_response.json())
            return _unreadable(tokens_in, tokens_out, _described(error))
        except (AttributeError, TypeError) as error:
            # What the SDK raises on a body that is no completion (no choices; not JSON).
            raise PlannerUnavailableError("the provider's answer was not a completion") from error
        tokens_in, tokens_out = _tokens(completion.usage)
        if not completion.choices:
            return _unreadable(tokens_in, tokens_out, "the answer held no choice")
        message = completion.choices[0].message
        if message.refusal:
            raise PlannerRefusedError(f"the model refused: {message.refusal}")
        if message.parsed is None:
            return _unreadable(tokens_in, tokens_out, "the answer was empty")
        try:
            draft = to_draft(message.parsed, request)
        except AnswerFormatError as error:
            return _unreadable(tokens_in, tokens_out, str(error))
        return _Reply(tokens_in, tokens_out, draft=draft)

    def _openai(self) -> openai.AsyncOpenAI:
        if self._client is None:
            self._client = openai.AsyncOpenAI(
                base_url=self._base_url,
                api_key=self._api_key,
                timeout=self._timeout,
                max_retries=self._max_retries,
            )
        return self._client

    def _output_limit_field(self) -> str:
        """OpenAI's own API wants `max_completion_tokens` (its reasoning models refuse
        `max_tokens`); the compatible servers (vLLM, llama.cpp, Ollama) read `max_tokens`."""
        if self._base_url is None or urlsplit(self._base_url).hostname == "api.openai.com":
            return "max_completion_tokens"
        return "max_tokens"

    def _failure(self, error: openai.APIError) -> PlannerFailure:
        if isinstance(error, openai.APITimeoutError):
            return PlannerTimeoutError(f"no answer from the model within {self._timeout} s")
        if isinstance(error, openai.APIConnectionError):
            return PlannerUnavailableError("the provider could not be reached")
        if not isinstance(error, openai.APIStatusError):
            return PlannerUnavailableError("the provider's answer was not a completion")
        status = error.status_code
        log.warning(
            "%s answered %s (type %s, code %s, request %s)",
            self._model,
            status,
            error.type,
            error.code,
            error.request_id,
        )
        said = f"the provider answered {status} ({error.code or error.type or 'no code'})"
        if status == 429 and error.code == "insufficient_quota":
            return PlannerMisconfiguredError(said)
        if status == 429:
            return PlannerRateLimitedError(said)
        if status == 408:
            return PlannerTimeoutError(said)
        if status in (400, 401, 403, 404, 422):
            return PlannerMisconfiguredError(said)
        return PlannerUnavailableError(said)

    def _usage(self, replies: Sequence[_Reply]) -> Usage:
        tokens_in = sum(r.tokens_in for r in replies)
        tokens_out = sum(r.tokens_out for r in replies)
        cost = (tokens_in * self._price_in + tokens_out * self._price_out) / _MILLION
        return Usage(
            model=self._model,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost=cost.quantize(_COST_QUANTUM),
            currency=self._currency,
            attempts=len(replies),
        )


def openai_planner(settings: Settings) -> OpenAIPlanner | None:
    """The planner the settings describe; None without an API key (no LLM configured)."""
    if not settings.llm_api_key:
        return None
    return OpenAIPlanner(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key,
        model=settings.llm_model,
        timeout=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
        max_output_tokens=settings.llm_max_output_tokens,
        price_in_per_mtok=settings.llm_price_input_per_mtok,
        price_out_per_mtok=settings.llm_price_output_per_mtok,
    )


def _unreadable(tokens_in: int, tokens_out: int, why: str) -> _Reply:
    failure = InvalidAnswerError(f"the answer is not a draft: {why}")
    return _Reply(tokens_in, tokens_out, failure=failure, ask_again=unreadable_message(why))


def _tokens(usage: openai.types.CompletionUsage | None) -> tuple[int, int]:
    return (usage.prompt_tokens, usage.completion_tokens) if usage else (0, 0)


def _tokens_in_body(body: object) -> tuple[int, int]:
    """The tokens a completion's JSON body reports, read without the SDK's models (used
    when its content broke the parse)."""
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return 0, 0
    return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)


def _described(error: pydantic.ValidationError, most: int = 10) -> str:
    found = error.errors(include_url=False, include_input=False)
    said = [f"{_path(e['loc']) or 'the answer'}: {e['msg']}" for e in found[:most]]
    if len(found) > most:
        said.append(f"and {len(found) - most} more")
    return "; ".join(said)


def _path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else part
    return path
