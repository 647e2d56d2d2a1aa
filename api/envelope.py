"""The one response shape:
`{"data": ..., "error": null | {"code", "message", "details"}, "meta": {...}}`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
import pydantic_core
from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from read_side.cursors import decode_cursor, encode_cursor
from read_side.queries import Consistent, stale_meta
from read_side.store import ServedTrip, ServedTripPage


def _meta(request: Request, extra: dict[str, Any] | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"correlation_id": str(getattr(request.state, "correlation_id", ""))}
    if extra:
        meta.update(extra)
    return meta


class EncodedJSONResponse(JSONResponse):
    """A JSON response whose body is encoded already."""

    def render(self, content: Any) -> bytes:
        assert isinstance(content, bytes)
        return content


def ok(
    request: Request,
    data: Any,
    *,
    status_code: int = 200,
    meta: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    if _models(data):
        # pydantic's own encoder (Rust) writes the same JSON as FastAPI's jsonable_encoder
        # (a walk in Python of every value, about fifteen times slower) then json.dumps.
        body = b"".join(
            (
                b'{"data":',
                pydantic_core.to_json(data, by_alias=True),
                b',"error":null,"meta":',
                orjson.dumps(_meta(request, meta)),
                b"}",
            )
        )
        return EncodedJSONResponse(body, status_code=status_code, headers=headers)
    envelope = {"data": jsonable_encoder(data), "error": None, "meta": _meta(request, meta)}
    return JSONResponse(envelope, status_code=status_code, headers=headers)


def _models(data: Any) -> bool:
    """A pydantic model, or a list of them: what pydantic encodes exactly as FastAPI would."""
    if isinstance(data, BaseModel):
        return True
    return isinstance(data, (list, tuple)) and all(isinstance(item, BaseModel) for item in data)


def ok_json(request: Request, data: dict[str, Any], meta: dict[str, Any] | None = None) -> Response:
    """As `ok`, for data made of JSON values already (and UUIDs, datetimes): encoded by orjson
    in one pass, without FastAPI's walk of every value (a sync page holds thousands)."""
    body = {"data": data, "error": None, "meta": _meta(request, meta)}
    return Response(orjson.dumps(body), media_type="application/json")


def error(
    request: Request,
    status_code: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    request.state.error_code = code  # counted by the request metrics
    body = {
        "data": None,
        "error": {"code": code, "message": message, "details": jsonable_encoder(details)},
        "meta": _meta(request, None),
    }
    return JSONResponse(body, status_code=status_code, headers=headers)


def read_response(request: Request, data: Any, found: Consistent) -> JSONResponse:
    """Data read from a trip's view: its version as ETag, and whether the view is stale."""
    return ok(
        request,
        data,
        meta=stale_meta(found),
        headers={"ETag": f'"{found.view.version}"'},
    )


def served_response(request: Request, served: ServedTrip) -> Response:
    """`read_response` for a trip served as stored: its JSON put in the envelope as it is,
    nothing decoded, validated or encoded again but `meta`."""
    meta: dict[str, object] = {
        "correlation_id": str(getattr(request.state, "correlation_id", "")),
        "stale": served.stale_reason is not None,
        "version": served.version,
    }
    if served.stale_reason is not None:
        meta["stale_reason"] = served.stale_reason
    body = b"".join(
        (
            b'{"data":',
            served.data.encode(),
            b',"error":null,"meta":',
            orjson.dumps(meta),
            b"}",
        )
    )
    return Response(body, media_type="application/json", headers={"ETag": f'"{served.version}"'})


def served_page_response(request: Request, served: ServedTripPage, limit: int) -> Response:
    """`ok` for a page of trips served as stored: its JSON put in the envelope as it is."""
    meta = _meta(request, {"next_cursor": served.next_cursor, "limit": limit})
    body = b"".join(
        (b'{"data":', served.data.encode(), b',"error":null,"meta":', orjson.dumps(meta), b"}")
    )
    return Response(body, media_type="application/json")


def page(
    request: Request,
    items: Sequence[Any],
    *,
    key: Callable[[Any], tuple[str, ...]],
    limit: int,
    cursor: str | None = None,
    offset: int = 0,
    found: Consistent | None = None,
) -> JSONResponse:
    """A page of a short, fully loaded list (members, destinations, activities), in `key`
    order: after the item `cursor` names (`meta.next_cursor` of the page before), or, for
    older clients, from `offset` (`meta.next_offset`)."""
    keys = [key(item) for item in items]
    start = offset
    if cursor is not None:
        after = decode_cursor(cursor, len(keys[0]) if keys else 2)
        start = next((i for i, k in enumerate(keys) if k > after), len(items))
    end = start + limit
    more = end < len(items)
    meta: dict[str, object] = {
        "next_cursor": encode_cursor(*keys[end - 1]) if more else None,
        "next_offset": end if more else None,
        "total": len(items),
    }
    headers = None
    if found is not None:
        meta.update(stale_meta(found))
        headers = {"ETag": f'"{found.view.version}"'}
    return ok(request, items[start:end], meta=meta, headers=headers)


def in_rank_order(item: Any) -> tuple[str, str]:
    """Destinations and activities: as they are shown."""
    return (item.rank, str(item.id))


def in_joining_order(member: Any) -> tuple[str, str]:
    return (member.joined_at.isoformat(), str(member.user_id))
