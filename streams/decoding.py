"""Reading a message of any domain topic into its contract."""

from __future__ import annotations

from collections.abc import Callable

from streams.chat_contracts import parse_chat_event
from streams.contracts import EventEnvelope, parse_trip_event
from streams.planner_contracts import parse_planner_event
from streams.topics import CHAT_EVENTS, PLANNER_EVENTS, TRIP_EVENTS, USER_EVENTS
from streams.user_contracts import parse_user_event

PARSERS: dict[str, Callable[[bytes], EventEnvelope]] = {
    TRIP_EVENTS: parse_trip_event,
    USER_EVENTS: parse_user_event,
    CHAT_EVENTS: parse_chat_event,
    PLANNER_EVENTS: parse_planner_event,
}


def parse_event(topic: str, raw: bytes) -> EventEnvelope:
    """The contract in a message of `topic`; raises ValueError (pydantic's ValidationError
    included) when it is not one."""
    parser = PARSERS.get(topic)
    if parser is None:
        raise ValueError(f"no contracts are published on {topic!r}")
    return parser(raw)
