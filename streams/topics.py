"""Topic names, one per domain, and the rule that keeps keys on their partitions.

The domain topics carry the event store's events (the relay publishes them); the analytics
topic carries facts derived from them (the analytics stream); system notifications carry
operational events (a projection parked or rebuilt, a key rotated, a relay taking over).
"""

from __future__ import annotations

TRIP_EVENTS = "trip-events"
USER_EVENTS = "user-events"
CHAT_EVENTS = "chat-events"
PLANNER_EVENTS = "planner-events"
ANALYTICS_EVENTS = "analytics-events"
SYSTEM_NOTIFICATIONS = "system-notifications"

DOMAIN_TOPICS = (TRIP_EVENTS, USER_EVENTS, CHAT_EVENTS, PLANNER_EVENTS)
ALL_TOPICS = (*DOMAIN_TOPICS, ANALYTICS_EVENTS, SYSTEM_NOTIFICATIONS)


class PartitionCountMismatchError(RuntimeError):
    """A topic's partition count differs from the configured one.

    Publishing anyway would send an aggregate's new events to another partition than its old
    ones, so consumers could see them out of order.
    """

    def __init__(self, topic: str, expected: int, actual: int | None) -> None:
        found = "does not exist" if actual is None else f"has {actual} partitions"
        super().__init__(
            f"Topic {topic!r} {found}, configured: {expected}. "
            "Run `itinera topics create`, or set ITINERA_TOPIC_PARTITIONS to match."
        )


def check_partition_counts(expected: int, actual: dict[str, int | None]) -> None:
    for topic in ALL_TOPICS:
        if actual.get(topic) != expected:
            raise PartitionCountMismatchError(topic, expected, actual.get(topic))
