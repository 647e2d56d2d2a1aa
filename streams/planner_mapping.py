"""How itinerary drafts' events are published on `planner-events`."""

from __future__ import annotations

from streams import planner_contracts as p
from streams.published_event import Published, event_of, picked
from streams.topics import PLANNER_EVENTS
from write_side.planner.draft import ItineraryDraft

PLANNER_PUBLISHED: tuple[Published, ...] = (
    Published(
        event_of(ItineraryDraft, "Requested"),
        PLANNER_EVENTS,
        p.ItineraryDraftRequested,
        picked("trip_id", "requested_by", "preferences", "trip_version"),
    ),
    Published(
        event_of(ItineraryDraft, "Started"),
        PLANNER_EVENTS,
        p.ItineraryDraftStarted,
        picked("trip_id", "attempt", "model", "trip_version", "charged_on"),
    ),
    Published(
        event_of(ItineraryDraft, "Completed"),
        PLANNER_EVENTS,
        p.ItineraryDraftCompleted,
        lambda fields: {
            "trip_id": fields["trip_id"],
            "draft": fields["document"],
            "usage": fields["usage"],
        },
    ),
    Published(
        event_of(ItineraryDraft, "Failed"),
        PLANNER_EVENTS,
        p.ItineraryDraftFailed,
        picked("trip_id", "reason", "message", "refunded"),
    ),
    Published(
        event_of(ItineraryDraft, "ItemsAccepted"),
        PLANNER_EVENTS,
        p.ItineraryDraftItemsAccepted,
        picked("trip_id", "acceptance_id", "accepted_by", "items"),
    ),
)
