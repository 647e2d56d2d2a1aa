"""The stored shape of the read models: JSON documents, as projections write them and as the
query functions read them. `views.py` holds the typed views the API returns; a document is
the same data in JSON form (ids, dates and times as strings, money as decimal strings)."""

from __future__ import annotations

from typing import Any, TypedDict


class MemberDocument(TypedDict):
    user_id: str
    role: str
    joined_at: str
    invited_by: str | None  # None: the trip's creator


class MomentDocument(TypedDict):
    local: str
    time_zone: str
    utc: str


class ActivityDocument(TypedDict):
    id: str
    destination_id: str
    title: str
    description: str
    activity_type: str
    start: MomentDocument | None
    end: MomentDocument | None
    cost: str | None
    currency: str | None
    rank: str
    order: int
    created_at: str
    updated_at: str


class DestinationDocument(TypedDict):
    id: str
    trip_id: str
    name: str
    description: str
    location: dict[str, Any]
    arrival_date: str
    departure_date: str
    rank: str
    order: int
    activities: list[ActivityDocument]
    created_at: str
    updated_at: str
    time_zone: str  # IANA: the one set, else the one at its location
    time_zone_set: bool


class TripDocument(TypedDict):
    """One trip as `TripView` reads it: members, destinations and activities in order."""

    id: str
    version: int
    title: str
    description: str
    start_date: str
    end_date: str
    creator_id: str
    members: list[MemberDocument]
    destinations: list[DestinationDocument]
    status: str
    visibility: str
    archived: bool
    totals: dict[str, str]  # cost per currency
    created_at: str
    updated_at: str
    currency: str | None  # of costs given without one; None: the default setting's


class UserDocument(TypedDict):
    """One public profile, as `UserProfileView` reads it."""

    id: str
    version: int
    username: str
    first_name: str
    last_name: str
    bio: str
    avatar_url: str
    is_active: bool


class CredentialsDocument(TypedDict):
    """When a user's credentials last changed (password change, deactivation): every token
    issued before `revoked_before` (epoch seconds) is revoked. Never served by the API."""

    id: str
    version: int
    revoked_before: float


class TripListEntry(TypedDict):
    """One row of a member's trip list: only what lists show, filter and sort by, so a row
    changes only when one of these does (the trip's version comes from its view)."""

    user_id: str
    trip_id: str
    role: str
    title: str
    start_date: str
    end_date: str
    status: str


class MessageDocument(TypedDict):
    """One chat message, as the chat history projection stores it."""

    id: str
    trip_id: str
    seq: int
    version: int
    sender_id: str
    content: str
    message_type: str
    reply_to: str | None
    is_edited: bool
    created_at: str
    updated_at: str
