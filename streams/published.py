"""Every topic we publish and every contract that may be found on it (older schema versions
included, while messages of them may still be on the topic): what `itinera contracts export`
documents and what a consumer may rely on."""

from __future__ import annotations

from dataclasses import dataclass

from streams.analytics_contracts import ANALYTICS_CONTRACTS
from streams.chat_contracts import CHAT_CONTRACTS
from streams.contracts import TRIP_CONTRACTS, Contract
from streams.planner_contracts import PLANNER_CONTRACTS
from streams.system_contracts import SYSTEM_CONTRACTS
from streams.topics import (
    ANALYTICS_EVENTS,
    CHAT_EVENTS,
    PLANNER_EVENTS,
    SYSTEM_NOTIFICATIONS,
    TRIP_EVENTS,
    USER_EVENTS,
)
from streams.user_contracts import USER_CONTRACTS


@dataclass(frozen=True)
class PublishedTopic:
    name: str
    description: str
    key: str  # what the message key is (UTF-8 text)
    contracts: tuple[type[Contract], ...]


PUBLISHED_TOPICS: tuple[PublishedTopic, ...] = (
    PublishedTopic(
        TRIP_EVENTS,
        "Everything that happens to a trip: its details, destinations, activities, members.",
        "The trip's id (`aggregate_id`): a trip's events are in order on one partition.",
        TRIP_CONTRACTS,
    ),
    PublishedTopic(
        USER_EVENTS,
        "Accounts and profiles, and each user's notification inbox.",
        "The user's id: a user's events are in order on one partition.",
        USER_CONTRACTS,
    ),
    PublishedTopic(
        CHAT_EVENTS,
        "Messages posted and edited in each trip's chat room.",
        "The trip's id (`payload.trip_id`): a room's messages are in order on one partition.",
        CHAT_CONTRACTS,
    ),
    PublishedTopic(
        PLANNER_EVENTS,
        "Itinerary drafts: asked for by a member, started and completed (or failed) by the "
        "planner role, accepted into the trip item by item.",
        "The draft's id (`aggregate_id`): a draft's events are in order on one partition.",
        PLANNER_CONTRACTS,
    ),
    PublishedTopic(
        ANALYTICS_EVENTS,
        "Facts for analytics, derived from the domain events: denormalised, free of personal "
        "data, deduplicated by `event_id`.",
        "The trip's id (`trip_id`): a trip's facts are in order on one partition.",
        ANALYTICS_CONTRACTS,
    ),
    PublishedTopic(
        SYSTEM_NOTIFICATIONS,
        "Operational events: a projection parked or rebuilt, a signing key rotated, a relay "
        "taking over. Signals, published at most once.",
        "The subject (`subject`): a projection's name, `signing-keys` or `relay`.",
        SYSTEM_CONTRACTS,
    ),
)
