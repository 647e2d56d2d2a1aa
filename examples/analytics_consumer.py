"""An analytics consumer of Itinera's Kafka topics that knows only the brokers, the topic
names and the published contracts (`docs/contracts`): plain kafka-python and jsonschema, no
Itinera code.

    python examples/analytics_consumer.py report --bootstrap HOST:PORT [--idle 5]
        [--until-count N] [--group-id ID] [--topic analytics-events] [--contracts DIR]
    python examples/analytics_consumer.py validate --bootstrap HOST:PORT [--contracts DIR]

`report` reads `analytics-events` from the beginning, checks each message against its
contract, counts each fact once (delivery is at least once: a fact may come twice, with the
same `event_id`) and prints the figures of each day as JSON. `validate` reads every topic of
the AsyncAPI document to its current end and checks every message. Both exit 1 when a
message breaks its contract, 2 when the broker cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError
from published_contracts import Contracts, Invalid

FIRST_REASONS = 10  # invalid messages described in full; the rest are counted
STUCK_SECONDS = 30.0  # a read that makes no progress this long fails


@dataclass
class Invalids:
    count: int = 0
    first: list[str] = field(default_factory=list)

    def add(self, record: ConsumerRecord, reason: str) -> None:
        self.count += 1
        if len(self.first) < FIRST_REASONS:
            where = f"{record.topic}/{record.partition}@{record.offset}"
            self.first.append(f"{where}: {reason}")

    def as_json(self) -> dict[str, Any]:
        return {"count": self.count, "first": self.first}


@dataclass
class Day:
    """What the facts of one day add up to. Spend is net, per currency, never converted:
    planned cost, minus dropped cost, plus a revision's cost minus its previous cost."""

    trips: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)
    trips_created: int = 0
    trips_completed: int = 0
    destinations_added: Counter[str] = field(default_factory=Counter)
    activities_planned: Counter[str] = field(default_factory=Counter)
    activities_dropped: Counter[str] = field(default_factory=Counter)
    spend: defaultdict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    members_joined: Counter[str] = field(default_factory=Counter)
    messages_posted: Counter[str] = field(default_factory=Counter)

    def add(self, fact: dict[str, Any]) -> bool:
        """Count a fact in; False if its type is not one this report knows."""
        kind, p = fact["event_type"], fact["payload"]
        self.trips.add(fact["trip_id"])
        self.users.add(fact["actor_id"])
        if kind == "TripCreatedFact":
            self.trips_created += 1
        elif kind == "TripCompletedFact":
            self.trips_completed += 1
        elif kind == "DestinationAddedFact":
            self.destinations_added[p["place"]["country"] or "unknown"] += 1
        elif kind == "ActivityPlannedFact":
            self.activities_planned[p["activity_type"]] += 1
            self._spend(p["cost"], p["currency"], +1)
        elif kind == "ActivityRevisedFact":
            self._spend(p["previous_cost"], p["previous_currency"], -1)
            self._spend(p["cost"], p["currency"], +1)
        elif kind == "ActivityDroppedFact":
            self.activities_dropped[p["activity_type"]] += 1
            self._spend(p["cost"], p["currency"], -1)
        elif kind == "MemberJoinedFact":
            self.members_joined[p["role"]] += 1
        elif kind == "MessagePostedFact":
            self.messages_posted[p["message_type"]] += 1
        else:
            return False
        return True

    def _spend(self, cost: str | None, currency: str | None, sign: int) -> None:
        if cost is not None and Decimal(cost):
            self.spend[currency or "XXX"] += sign * Decimal(cost)

    def as_json(self) -> dict[str, Any]:
        return {
            "active_trips": len(self.trips),
            "active_users": len(self.users),
            "trips_created": self.trips_created,
            "trips_completed": self.trips_completed,
            "destinations_added": dict(sorted(self.destinations_added.items())),
            "activities_planned": dict(sorted(self.activities_planned.items())),
            "activities_dropped": dict(sorted(self.activities_dropped.items())),
            "spend": {currency: str(self.spend[currency]) for currency in sorted(self.spend)},
            "members_joined": dict(sorted(self.members_joined.items())),
            "messages_posted": dict(sorted(self.messages_posted.items())),
        }


def report(args: argparse.Namespace) -> int:
    contracts = Contracts(args.contracts)
    consumer = KafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap,
        group_id=args.group_id,
        auto_offset_reset="earliest",  # a group of its own has no offsets: the beginning
        enable_auto_commit=False,  # each run reads everything again
        # Kafka's shortest by default (group.min.session.timeout.ms). Some brokers (Tansu)
        # hold a new group's first join for about twice this: 10 s (the default) took 23 s.
        session_timeout_ms=6000,
        client_id="analytics-consumer",
    )
    days: defaultdict[str, Day] = defaultdict(Day)
    seen: set[str] = set()
    unknown: Counter[str] = Counter()
    invalid, messages, duplicates = Invalids(), 0, 0
    started = quiet_since = time.monotonic()
    try:
        while len(seen) < (args.until_count or sys.maxsize):
            batches = consumer.poll(timeout_ms=200)
            now = time.monotonic()
            if batches or not consumer.assignment():
                quiet_since = now  # the idle clock runs once the group gave us the topic
                if now - started > STUCK_SECONDS and not consumer.assignment():
                    print(f"no partition of {args.topic} assigned", file=sys.stderr)
                    return 2
            elif now - quiet_since >= args.idle:
                break
            for record in (r for records in batches.values() for r in records):
                messages += 1
                try:
                    fact = contracts.check(record.topic, record.key, record.headers, record.value)
                except Invalid as error:
                    invalid.add(record, str(error))
                    continue
                if fact.event_id in seen:
                    duplicates += 1
                    continue
                seen.add(fact.event_id)
                if not days[fact.value["day"]].add(fact.value):
                    unknown[fact.name] += 1
    finally:
        consumer.close()
    countries: Counter[str] = sum((d.destinations_added for d in days.values()), Counter())
    print(
        json.dumps(
            {
                "topic": args.topic,
                "group_id": args.group_id,
                "messages": messages,
                "facts": len(seen),
                "duplicates": duplicates,
                "invalid": invalid.as_json(),
                "days": {day: days[day].as_json() for day in sorted(days)},
                "top_destinations": [
                    {"country": country, "count": count}
                    for country, count in sorted(countries.items(), key=lambda c: (-c[1], c[0]))
                ][: args.top],
                "not_aggregated": dict(unknown),  # valid facts of types newer than this code
            },
            indent=2,
        )
    )
    return 1 if invalid.count else 0


def validate(args: argparse.Namespace) -> int:
    contracts = Contracts(args.contracts)
    topics: dict[str, Counter[str]] = {}
    invalid = Invalids()
    for topic in contracts.topics:
        counts = topics[topic] = Counter()
        for record in _everything(args.bootstrap, topic):
            try:
                counts[contracts.check(topic, record.key, record.headers, record.value).name] += 1
            except Invalid as error:
                counts["invalid"] += 1
                invalid.add(record, str(error))
    summary = {
        "topics": {
            topic: {"messages": sum(counts.values()), "by_type": dict(sorted(counts.items()))}
            for topic, counts in topics.items()
        },
        "invalid": invalid.as_json(),
    }
    print(json.dumps(summary, indent=2))
    return 1 if invalid.count else 0


def _everything(bootstrap: str, topic: str) -> Iterator[ConsumerRecord]:
    """Every message of the topic, from the beginning to its end when the read began."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            return
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        progress = time.monotonic()
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            batches = consumer.poll(timeout_ms=500)
            if batches:
                progress = time.monotonic()
            elif time.monotonic() - progress > STUCK_SECONDS:
                raise TimeoutError(f"{topic}: no message for {STUCK_SECONDS} s before its end")
            for records in batches.values():
                yield from records
    finally:
        consumer.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", default="localhost:9092", help="Kafka bootstrap servers")
    parser.add_argument("--contracts", type=Path, default=Path("docs/contracts"))
    commands = parser.add_subparsers(dest="command", required=True)
    figures = commands.add_parser("report", help="per-day figures of analytics-events")
    figures.add_argument("--topic", default="analytics-events")
    figures.add_argument("--group-id", default=f"analytics-report-{uuid.uuid4().hex[:12]}")
    figures.add_argument("--idle", type=float, default=5.0, help="stop after this quiet time (s)")
    figures.add_argument("--until-count", type=int, help="stop at this many distinct facts")
    figures.add_argument("--top", type=int, default=10, help="top destinations listed")
    figures.set_defaults(run=report)
    checks = commands.add_parser("validate", help="check every message of every topic")
    checks.set_defaults(run=validate)
    args = parser.parse_args()
    try:
        code: int = args.run(args)
    except (KafkaError, OSError) as error:  # TimeoutError is an OSError
        print(f"cannot read the topics: {error!r}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
