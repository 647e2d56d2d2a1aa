"""Every projection the drivers run. Adding a read model is declaring a projection module
and listing it here (with its tables' adapter in infra)."""

from __future__ import annotations

from typing import Any

from projections.account_mail import ACCOUNT_MAIL
from projections.activity_schedule import ACTIVITY_SCHEDULE
from projections.analytics import ANALYTICS
from projections.chat_announcements import CHAT_ANNOUNCEMENTS
from projections.chat_history import CHAT_HISTORY
from projections.credentials import CREDENTIALS
from projections.engine.projection import Projection
from projections.itinerary_drafts import ITINERARY_DRAFTS
from projections.notifications import NOTIFICATIONS
from projections.notifier import NOTIFIER
from projections.recommendation_catalogue import RECOMMENDATION_CATALOGUE
from projections.sync_feed import SYNC_FEED
from projections.trip_views import TRIP_VIEWS
from projections.user_directory import USER_DIRECTORY

PROJECTIONS: tuple[Projection[Any], ...] = (
    TRIP_VIEWS,
    USER_DIRECTORY,
    CREDENTIALS,
    CHAT_HISTORY,
    CHAT_ANNOUNCEMENTS,
    NOTIFICATIONS,
    NOTIFIER,
    ACTIVITY_SCHEDULE,
    SYNC_FEED,
    RECOMMENDATION_CATALOGUE,
    ANALYTICS,
    ITINERARY_DRAFTS,
    ACCOUNT_MAIL,
)


def projection_named(name: str) -> Projection[Any]:
    for projection in PROJECTIONS:
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in PROJECTIONS)
    raise KeyError(f"no projection {name!r} (known: {known})")
