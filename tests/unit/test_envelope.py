"""The envelope's encodings: models go through pydantic's encoder, and must come out as
FastAPI's jsonable_encoder and json.dumps wrote them (clients see the same bytes)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from fastapi import Request
from fastapi.encoders import jsonable_encoder

from api.envelope import ok
from read_side.views import TripSummary
from streams.contracts import Moment
from tests.builders import (
    activity_added,
    another_activity,
    destination_added,
    member_added,
    trip_created,
)
from tests.projected import in_memory_projected

pytestmark = pytest.mark.anyio


def _request() -> Request:
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})
    request.state.correlation_id = uuid4()
    return request


def _as_before(request: Request, data: Any, meta: dict[str, Any]) -> bytes:
    """What `ok` answered before: FastAPI's encoder, then Starlette's json.dumps."""
    body = {
        "data": jsonable_encoder(data),
        "error": None,
        "meta": {"correlation_id": str(request.state.correlation_id), **meta},
    }
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _summary(title: str, updated_at: datetime) -> TripSummary:
    return TripSummary(
        user_id=uuid4(),
        trip_id=uuid4(),
        role="owner",
        title=title,
        start_date=date(2027, 4, 1),
        end_date=date(2027, 4, 20),
        version=7,
        updated_at=updated_at,
    )


def test_a_page_of_models_is_encoded_as_before() -> None:
    request = _request()
    page = (
        _summary("Japon 日本 — été", datetime(2027, 4, 3, 9, 0, 0, 123, tzinfo=UTC)),
        _summary('Quotes " and \\ slashes', datetime(2027, 1, 3, 9, tzinfo=UTC)),
    )
    meta = {"next_cursor": None, "limit": 50}
    for data in (page, list(page), page[0], ()):
        assert ok(request, data, meta=meta).body == _as_before(request, data, meta)


async def test_a_rich_trip_view_is_encoded_as_before() -> None:
    models = in_memory_projected()
    trip_id, owner, kyoto = uuid4(), uuid4(), uuid4()
    temple = activity_added(trip_id, 3, owner, kyoto, uuid4())
    timed = another_activity(
        temple,
        4,
        title="Chai ☕ «вечер»",
        start=Moment(
            local=datetime(2027, 4, 3, 14, 30, 0, 123),
            time_zone="Asia/Kolkata",
            utc=datetime(2027, 4, 3, 9, 0, 0, 123, tzinfo=UTC),
        ),
        cost=Decimal("0.10"),
    )
    await models.apply(
        trip_created(trip_id, owner, title="Japon 日本"),
        destination_added(trip_id, 2, owner, kyoto, name="Kyōto"),
        temple,
        timed,
        member_added(trip_id, 5, owner, uuid4(), "viewer"),
    )
    stored = await models.trips.get_trip(trip_id)
    assert stored is not None
    request = _request()
    meta = {"stale": False, "version": 5}
    assert ok(request, stored.view, meta=meta).body == _as_before(request, stored.view, meta)


def test_other_data_is_encoded_by_fastapi_as_before() -> None:
    request = _request()
    data = {"at": datetime(2027, 1, 3, 9, tzinfo=UTC), "id": uuid4(), "n": [1, 2.5, None]}
    assert ok(request, data).body == _as_before(request, data, {})
