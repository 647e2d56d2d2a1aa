"""Costs converted into a trip's currency for analytics, at rates an operator configures
(`ITINERA_ANALYTICS_RATES`). Without rates nothing is converted: every fact keeps its cost in
its own currency, which is always there too."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal

import iso4217

from streams import analytics_contracts as a


def _exponent(code: str) -> int:
    try:
        exponent = iso4217.Currency(code).exponent
    except ValueError:
        raise ValueError(f"{code!r} is not an ISO 4217 currency") from None
    if exponent is None:
        raise ValueError(f"{code!r} has no minor units: not a currency of costs")
    return int(exponent)


class ExchangeRates:
    """`rates`: the value of one unit of each currency in one common unit of account (any:
    only ratios matter), e.g. {"EUR": 1, "USD": "0.92", "JPY": "0.0062"}."""

    def __init__(self, rates: Mapping[str, Decimal]) -> None:
        for code, rate in rates.items():
            _exponent(code)
            if rate <= 0:
                raise ValueError(f"the rate of {code} must be positive, not {rate}")
        self._rates = dict(rates)

    def convert(self, amount: Decimal, source: str, target: str) -> Decimal | None:
        """`amount` of `source` in `target`, rounded to its minor units; None without both
        rates."""
        if source not in self._rates or target not in self._rates:
            return None
        exact = amount * self._rates[source] / self._rates[target]
        return exact.quantize(Decimal(1).scaleb(-_exponent(target)), rounding=ROUND_HALF_EVEN)

    def applied(self, fact: a.Fact) -> a.Fact:
        """The fact with its cost converted into its trip's currency, when it has a cost, the
        trip a currency, and both rates are configured."""
        payload = getattr(fact, "payload", None)
        if not isinstance(payload, a.ActivityFigures) or not self._rates:
            return fact
        if payload.cost is None or payload.currency is None or payload.trip_currency is None:
            return fact
        converted = self.convert(payload.cost, payload.currency, payload.trip_currency)
        if converted is None:
            return fact
        return fact.model_copy(
            update={"payload": payload.model_copy(update={"converted_cost": converted})}
        )
