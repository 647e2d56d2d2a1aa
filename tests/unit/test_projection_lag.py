"""A projection's status from its lanes: behind is lagging, except for one that lets its
changes gather, which is behind by design for a while after each write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from projections.engine.lag import Lane, ProjectionHealth, projection_health

NOW = datetime(2027, 5, 1, 12, 0, tzinfo=UTC)
STALL = timedelta(seconds=30)


def _health(behind_for: float | None, gather_seconds: float = 0.0) -> ProjectionHealth:
    """One lane, caught up (None) or behind by 3 events for `behind_for` seconds."""
    since = None if behind_for is None else NOW - timedelta(seconds=behind_for)
    lane = Lane(
        "log",
        applied=10,
        head=10 if behind_for is None else 13,
        applied_event_at=since,
        progressed_at=since or NOW,
        behind_since=since,
        reported_at=NOW,
    )
    return projection_health(
        "p",
        1,
        1,
        [lane],
        parked=0,
        dead_letters=0,
        now=NOW,
        stall_after=STALL,
        gather_seconds=gather_seconds,
    )


def test_a_projection_behind_is_lagging_at_once() -> None:
    assert _health(None).status == "ok"
    assert (_health(0.0).status, _health(0.0).lag_events) == ("lagging", 3)


def test_a_gathering_projection_is_lagging_only_past_twice_its_gathering_time() -> None:
    assert _health(3.5, gather_seconds=2.0).status == "ok"
    assert _health(4.5, gather_seconds=2.0).status == "lagging"
    assert _health(40, gather_seconds=2.0).status == "stalled"
