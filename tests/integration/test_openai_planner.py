"""The OpenAI-compatible planner through the real `openai` client, over HTTP, against a fake
OpenAI server on loopback: every provider outcome becomes a draft or one `PlannerFailure`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from infra.planner.openai_planner import OpenAIPlanner, openai_planner
from infra.settings import Settings
from tests.fake_openai import (
    FakeOpenAI,
    Scripted,
    answer,
    error,
    filtered,
    refusal,
    slow,
    truncated,
)
from write_side.planner.checked import checked_draft
from write_side.planner.drafting import Idea, Place, Planned, PlanningRequest, Problem
from write_side.planner.ports import (
    ContentFilteredError,
    InvalidAnswerError,
    PlannerMisconfiguredError,
    PlannerRateLimitedError,
    PlannerRefusedError,
    PlannerTimeoutError,
    PlannerUnavailableError,
    TruncatedAnswerError,
)
from write_side.planner.validation import validate
from write_side.trips.itinerary import ActivityType

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

PARIS = UUID("00000000-0000-4000-8000-00000000000a")
REQUEST = PlanningRequest(
    trip_id=UUID("00000000-0000-4000-8000-000000000001"),
    title="Paris in June",
    description="A long weekend",
    start_date=date(2030, 6, 1),
    end_date=date(2030, 6, 3),
    currency="EUR",
    places=(
        Place(
            PARIS, "Paris", "", 48.8566, 2.3522, "Europe/Paris", date(2030, 6, 1), date(2030, 6, 3)
        ),
    ),
    ideas=(Idea("louvre", "Louvre", "The museum", ActivityType.SIGHTSEEING, "idea", PARIS),),
)


def item(
    start: str = "2030-06-01T10:00", end: str = "2030-06-01T12:30", **more: Any
) -> dict[str, Any]:
    return {
        "title": "Louvre",
        "description": "Paintings.",
        "activity_type": "sightseeing",
        "start": start,
        "end": end,
        "destination_id": str(PARIS),
        "new_destination": None,
        "idea_key": "louvre",
        "cost": 22.0,
        "currency": "EUR",
        "reason": "A must.",
        **more,
    }


def draft(*items: dict[str, Any], day: str = "2030-06-01") -> dict[str, Any]:
    return {
        "summary": "Museums first.",
        "days": [{"day": day, "items": list(items or [item()])}],
        "destinations": [],
        "leftovers": [],
    }


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI.start() as fake:
        yield fake


def planner(fake: FakeOpenAI, **config: Any) -> OpenAIPlanner:
    settings: dict[str, Any] = {
        "base_url": fake.base_url,
        "api_key": "test-key",
        "model": "fake-model",
        "timeout": 5.0,
        "max_retries": 0,
        "max_output_tokens": 4000,
        "price_in_per_mtok": Decimal("0.15"),
        "price_out_per_mtok": Decimal("0.60"),
    }
    return OpenAIPlanner(**(settings | config))


async def plan(fake: FakeOpenAI, feedback: Sequence[Problem] = (), **config: Any) -> Planned:
    made = planner(fake, **config)
    try:
        return await made.plan(REQUEST, feedback)
    finally:
        await made.aclose()


async def test_a_structured_answer_becomes_a_draft_with_its_usage_and_cost(
    fake: FakeOpenAI,
) -> None:
    fake.script(answer(draft(), prompt_tokens=1200, completion_tokens=300))
    planned = await plan(fake)

    [only] = planned.draft.items()
    assert only.start == datetime(2030, 6, 1, 10, 0)
    assert only.end == datetime(2030, 6, 1, 12, 30)
    assert (only.destination_id, only.time_zone, only.idea_key) == (PARIS, "Europe/Paris", "louvre")
    assert (only.cost, only.activity_type) == (Decimal("22.0"), ActivityType.SIGHTSEEING)
    assert planned.draft.summary == "Museums first."
    usage = planned.usage
    assert (usage.model, usage.tokens_in, usage.tokens_out, usage.attempts) == (
        "fake-model",
        1200,
        300,
        1,
    )
    assert usage.cost == Decimal("0.000360")  # 1200 * 0.15 / 1e6 + 300 * 0.60 / 1e6
    assert usage.currency == "USD"


async def test_an_item_at_a_proposed_destination_is_in_its_zone(fake: FakeOpenAI) -> None:
    proposed = draft(item(destination_id=None, new_destination="london"))
    proposed["destinations"] = [
        {
            "key": "london",
            "name": "London",
            "description": "By train.",
            "lat": 51.5,
            "lng": -0.12,
            "time_zone": "Europe/London",
            "arrival_date": "2030-06-01",
            "departure_date": "2030-06-02",
            "reason": "Close by.",
        }
    ]
    fake.script(answer(proposed))
    planned = await plan(fake)

    [only] = planned.draft.items()
    assert (only.destination_id, only.new_destination) == (None, "london")
    assert only.time_zone == "Europe/London"
    [london] = planned.draft.destinations
    assert (london.arrival_date, london.time_zone) == (date(2030, 6, 1), "Europe/London")


async def test_the_request_asks_for_a_strict_json_schema_and_carries_the_trip(
    fake: FakeOpenAI,
) -> None:
    fake.script(answer(draft()))
    await plan(fake)

    [sent] = fake.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer test-key"
    assert sent.body["model"] == "fake-model"
    assert sent.body["max_tokens"] == 4000
    response_format = sent.body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    schema = response_format["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])
    assert [m["role"] for m in sent.messages] == ["system", "user"]
    assert str(PARIS) in sent.text() and "louvre" in sent.text()
    assert "test-key" not in sent.text()


async def test_feedback_is_sent_as_the_problems_to_fix(fake: FakeOpenAI) -> None:
    fake.script(answer(draft()))
    problem = Problem("days[0].items[0].end", "end_not_after_start", "The end is too early.")
    await plan(fake, feedback=[problem])

    [sent] = fake.requests
    assert [m["role"] for m in sent.messages] == ["system", "user", "user"]
    last = sent.messages[-1]["content"]
    assert "days[0].items[0].end [end_not_after_start]: The end is too early." in last


async def test_an_answer_outside_the_schema_is_asked_again_once(fake: FakeOpenAI) -> None:
    broken = draft()
    del broken["days"][0]["items"][0]["start"]
    fake.script(
        answer(broken, prompt_tokens=1000, completion_tokens=200),
        answer(draft(), prompt_tokens=1100, completion_tokens=300),
    )
    planned = await plan(fake)

    assert len(planned.draft.items()) == 1
    assert (planned.usage.attempts, planned.usage.tokens_in, planned.usage.tokens_out) == (
        2,
        2100,
        500,
    )
    again = fake.requests[1].messages[-1]["content"]
    assert "days[0].items[0].start: Field required" in again


async def test_an_answer_unreadable_twice_is_an_invalid_answer(fake: FakeOpenAI) -> None:
    fake.script(answer("this is not JSON"), answer(draft(item(start="June 1st, 10am"))))
    with pytest.raises(InvalidAnswerError, match=r"days\[0\]\.items\[0\]\.start"):
        await plan(fake)
    assert "Invalid JSON" in fake.requests[1].messages[-1]["content"]


async def test_a_refusal_is_a_refused_failure(fake: FakeOpenAI) -> None:
    fake.script(refusal("I can't help with that."))
    with pytest.raises(PlannerRefusedError, match="can't help") as refused:
        await plan(fake)
    assert (refused.value.code, refused.value.user_fault) == ("refused", True)


async def test_a_filtered_answer_is_a_content_filtered_failure(fake: FakeOpenAI) -> None:
    fake.script(filtered())
    with pytest.raises(ContentFilteredError):
        await plan(fake)


async def test_a_server_slower_than_the_timeout_is_a_timeout(fake: FakeOpenAI) -> None:
    fake.script(slow(3.0, answer(draft())))
    with pytest.raises(PlannerTimeoutError) as late:
        await plan(fake, timeout=0.5, max_retries=0)
    assert late.value.retry_later


async def test_a_rate_limit_is_retried_by_the_client_then_answered(fake: FakeOpenAI) -> None:
    fake.script(error(429, retry_after=0), answer(draft()))
    planned = await plan(fake, max_retries=2)

    assert len(fake.requests) == 2
    assert planned.usage.attempts == 1  # the SDK's retry is not a new answer


async def test_a_rate_limit_that_lasts_is_a_rate_limited_failure(fake: FakeOpenAI) -> None:
    fake.script(error(429, retry_after=0))
    with pytest.raises(PlannerRateLimitedError):
        await plan(fake, max_retries=0)


async def test_a_quota_used_up_is_misconfigured_not_rate_limited(fake: FakeOpenAI) -> None:
    fake.script(error(429, code="insufficient_quota"))
    with pytest.raises(PlannerMisconfiguredError, match="insufficient_quota"):
        await plan(fake, max_retries=0)


async def test_a_server_error_that_lasts_is_unavailable(fake: FakeOpenAI) -> None:
    fake.script(error(500), error(500))
    with pytest.raises(PlannerUnavailableError, match="500"):
        await plan(fake, max_retries=1)
    assert len(fake.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_refused_credentials_model_or_request_are_misconfigured(
    fake: FakeOpenAI, status: int
) -> None:
    fake.script(error(status))
    with pytest.raises(PlannerMisconfiguredError) as failed:
        await plan(fake, max_retries=2)
    assert not failed.value.retry_later
    assert len(fake.requests) == 1  # never retried


async def test_a_body_that_is_no_completion_is_unavailable(fake: FakeOpenAI) -> None:
    fake.script(Scripted(200, {"object": "list", "data": []}))
    with pytest.raises(PlannerUnavailableError, match="not a completion"):
        await plan(fake)


async def test_an_unreachable_server_is_unavailable() -> None:
    with FakeOpenAI.start() as gone:
        base_url = gone.base_url
    made = OpenAIPlanner(base_url=base_url, api_key="test-key", model="m", max_retries=0)
    with pytest.raises(PlannerUnavailableError):
        await made.plan(REQUEST)
    await made.aclose()


async def test_an_answer_cut_off_twice_is_truncated(fake: FakeOpenAI) -> None:
    fake.script(truncated(), truncated())
    with pytest.raises(TruncatedAnswerError):
        await plan(fake)
    assert "cut off" in fake.requests[1].messages[-1]["content"]


async def test_an_answer_cut_off_then_complete_is_a_draft_paid_for_twice(fake: FakeOpenAI) -> None:
    fake.script(
        truncated(completion_tokens=4000), answer(draft(), prompt_tokens=100, completion_tokens=50)
    )
    planned = await plan(fake)

    assert (planned.usage.attempts, planned.usage.tokens_out) == (2, 4050)


def test_no_planner_without_an_api_key_and_the_key_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ITINERA_LLM_API_KEY", raising=False)
    assert openai_planner(Settings(_env_file=None)) is None  # type: ignore[call-arg]
    settings = Settings(_env_file=None, llm_api_key="test-key", llm_model="fake-model")  # type: ignore[call-arg]
    made = openai_planner(settings)
    assert made is not None and made.model == "fake-model"
    assert "test-key" not in repr(made) and "test-key" not in repr(settings)


LONGER_TRIP = replace(REQUEST, end_date=date(2030, 6, 5))  # Paris still ends on June 3
AFTER_PARIS = draft(item("2030-06-04T10:00", "2030-06-04T12:00"), day="2030-06-04")


async def test_a_draft_breaking_a_rule_is_fixed_by_a_reask_carrying_the_problem(
    fake: FakeOpenAI,
) -> None:
    fake.script(answer(AFTER_PARIS), answer(draft()))
    made = planner(fake)
    try:
        checked = await checked_draft(made, LONGER_TRIP)
    finally:
        await made.aclose()

    assert (checked.reasks, checked.repaired, checked.usage.attempts) == (1, (), 2)
    assert validate(checked.draft, LONGER_TRIP) == []
    reask = fake.requests[1].messages[-1]["content"]
    assert "days[0].items[0].start [outside_destination_dates]" in reask


async def test_a_draft_still_broken_after_the_reasks_is_repaired(fake: FakeOpenAI) -> None:
    fake.script(answer(AFTER_PARIS), answer(AFTER_PARIS), answer(AFTER_PARIS))
    made = planner(fake)
    try:
        checked = await checked_draft(made, LONGER_TRIP, reasks=2)
    finally:
        await made.aclose()

    assert len(fake.requests) == 3 and checked.reasks == 2
    assert {p.code for p in checked.repaired} == {"outside_destination_dates"}
    assert validate(checked.draft, LONGER_TRIP) == []
    placed = {i.idea_key for i in checked.draft.items()}
    assert "louvre" in placed | {left.key for left in checked.draft.leftovers}  # never lost
