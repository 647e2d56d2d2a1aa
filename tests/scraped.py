"""`/metrics` as the tests read it: parsed by Prometheus' own parser into samples keyed by
name and labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 when the series has not appeared yet."""
    return found.get((name, frozenset(labels.items())), 0.0)
