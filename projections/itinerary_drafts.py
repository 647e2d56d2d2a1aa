"""Itinerary drafts as members see them: status, the draft, what it cost, and what was
accepted from it by whom. One state per draft; pure."""

from __future__ import annotations

import copy
from typing import Any, TypedDict

from projections.engine.projection import MissingStateError, Projection
from streams import planner_contracts as p
from streams.envelope import EventEnvelope
from streams.topics import PLANNER_EVENTS


class DraftView(TypedDict):
    draft_id: str
    trip_id: str
    requested_by: str
    status: str  # queued, running, ready, failed
    preferences: dict[str, Any]
    trip_version: int  # the trip's version when asked for (then when the job started)
    requested_at: str
    started_at: str | None
    finished_at: str | None
    attempts: int
    model: str | None
    draft: dict[str, Any] | None
    usage: dict[str, Any] | None
    failure: dict[str, Any] | None  # reason, message, refunded
    accepted: dict[str, dict[str, Any]]  # item id → kind, entity_id, by, at, acceptance
    version: int


ITINERARY_DRAFTS: Projection[DraftView] = Projection(
    name="itinerary_drafts", version=1, topics=(PLANNER_EVENTS,), begin=copy.deepcopy
)


def _existing(view: DraftView | None, event: EventEnvelope) -> DraftView:
    if view is None:
        raise MissingStateError(event)
    view["version"] = event.aggregate_version
    return view


@ITINERARY_DRAFTS.applies(p.ItineraryDraftRequested)
def _requested(view: DraftView | None, event: p.ItineraryDraftRequested) -> DraftView:
    payload = event.payload
    return DraftView(
        draft_id=str(event.aggregate_id),
        trip_id=str(payload.trip_id),
        requested_by=str(payload.requested_by),
        status="queued",
        preferences=payload.preferences.model_dump(mode="json"),
        trip_version=payload.trip_version,
        requested_at=event.occurred_at.isoformat(),
        started_at=None,
        finished_at=None,
        attempts=0,
        model=None,
        draft=None,
        usage=None,
        failure=None,
        accepted={},
        version=event.aggregate_version,
    )


@ITINERARY_DRAFTS.applies(p.ItineraryDraftStarted)
def _started(view: DraftView | None, event: p.ItineraryDraftStarted) -> DraftView:
    found = _existing(view, event)
    found["status"] = "running"
    found["started_at"] = event.occurred_at.isoformat()
    found["attempts"] = event.payload.attempt
    found["model"] = event.payload.model
    found["trip_version"] = event.payload.trip_version
    return found


@ITINERARY_DRAFTS.applies(p.ItineraryDraftCompleted)
def _completed(view: DraftView | None, event: p.ItineraryDraftCompleted) -> DraftView:
    found = _existing(view, event)
    usage = event.payload.usage.model_dump(mode="json")
    found["status"] = "ready"
    found["finished_at"] = event.occurred_at.isoformat()
    found["model"] = usage["model"]
    found["draft"] = event.payload.draft.model_dump(mode="json")
    found["usage"] = usage
    return found


@ITINERARY_DRAFTS.applies(p.ItineraryDraftFailed)
def _failed(view: DraftView | None, event: p.ItineraryDraftFailed) -> DraftView:
    found = _existing(view, event)
    payload = event.payload
    found["status"] = "failed"
    found["finished_at"] = event.occurred_at.isoformat()
    found["failure"] = {
        "reason": payload.reason,
        "message": payload.message,
        "refunded": payload.refunded,
    }
    return found


@ITINERARY_DRAFTS.applies(p.ItineraryDraftItemsAccepted)
def _accepted(view: DraftView | None, event: p.ItineraryDraftItemsAccepted) -> DraftView:
    found = _existing(view, event)
    payload = event.payload
    for item in payload.items:
        found["accepted"].setdefault(
            str(item.item_id),
            {
                "kind": item.kind,
                "entity_id": None if item.entity_id is None else str(item.entity_id),
                "accepted_by": str(payload.accepted_by),
                "accepted_at": event.occurred_at.isoformat(),
                "acceptance_id": str(payload.acceptance_id),
            },
        )
    return found
