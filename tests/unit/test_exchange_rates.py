"""Costs converted for analytics at the configured rates, and only then."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest
from pydantic import ValidationError

from infra.exchange_rates import ExchangeRates
from infra.settings import Settings
from streams import analytics_contracts as a

RATES = ExchangeRates({"EUR": Decimal(1), "USD": Decimal("0.92"), "JPY": Decimal("0.0062")})


def _planned(cost: str | None, currency: str | None, trip_currency: str | None) -> a.Fact:
    source = uuid4()
    return a.ActivityPlannedFact.model_validate(
        {
            "event_id": a.fact_id(source, "ActivityPlannedFact"),
            "trip_id": uuid4(),
            "source_event_id": source,
            "occurred_at": "2027-04-03T10:00:00+00:00",
            "day": "2027-04-03",
            "actor_id": uuid4(),
            "correlation_id": uuid4(),
            "payload": {
                "activity_id": uuid4(),
                "destination_id": uuid4(),
                "activity_type": "restaurant",
                "local_date": "2027-04-03",
                "hours": 2.5,
                "place": {"country": "JP", "cell": "35.0,135.8"},
                "cost": cost,
                "currency": currency,
                "trip_currency": trip_currency,
            },
        }
    )


def test_a_cost_is_converted_into_the_trips_currency_to_its_minor_units() -> None:
    assert RATES.convert(Decimal(12000), "JPY", "EUR") == Decimal("74.40")
    assert RATES.convert(Decimal("74.40"), "EUR", "JPY") == Decimal(12000)
    assert RATES.convert(Decimal(10), "USD", "EUR") == Decimal("9.20")
    assert RATES.convert(Decimal(10), "GBP", "EUR") is None  # no rate: not converted

    converted = RATES.applied(_planned("12000", "JPY", "EUR"))
    assert isinstance(converted, a.ActivityPlannedFact)
    assert (converted.payload.cost, converted.payload.currency) == (Decimal(12000), "JPY")
    assert converted.payload.converted_cost == Decimal("74.40")


@pytest.mark.parametrize(
    ("cost", "currency", "trip_currency"),
    [(None, None, "EUR"), ("12000", "JPY", None), ("10", "GBP", "EUR")],
)
def test_without_a_cost_a_trip_currency_or_a_rate_nothing_is_converted(
    cost: str | None, currency: str | None, trip_currency: str | None
) -> None:
    fact = _planned(cost, currency, trip_currency)
    assert RATES.applied(fact) == fact
    unconfigured = _planned("12000", "JPY", "EUR")
    assert ExchangeRates({}).applied(unconfigured) == unconfigured


def test_bad_rates_are_refused_when_the_settings_are_read() -> None:
    with pytest.raises(ValidationError, match="not an ISO 4217 currency"):
        Settings(analytics_rates={"EURO": Decimal(1)})
    with pytest.raises(ValidationError, match="must be positive"):
        Settings(analytics_rates={"EUR": Decimal(0)})
    assert Settings(analytics_rates={"EUR": Decimal(1)}).analytics_rates == {"EUR": 1}
