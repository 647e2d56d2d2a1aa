"""The tables' adapter of every projection in projections.catalogue."""

from __future__ import annotations

from typing import Any

from infra.exchange_rates import ExchangeRates
from infra.postgres.projections.analytics_tables import AnalyticsTables, FactPublisher
from infra.postgres.projections.chat_tables import ChatTables
from infra.postgres.projections.credential_tables import CredentialTables
from infra.postgres.projections.draft_tables import DraftTables
from infra.postgres.projections.effect_tables import Effect, EffectTables
from infra.postgres.projections.notification_tables import NotificationTables
from infra.postgres.projections.recommendation_tables import RecommendationTables
from infra.postgres.projections.schedule_tables import ScheduleTables
from infra.postgres.projections.sync_tables import SyncFeedTables
from infra.postgres.projections.tables import StateTables
from infra.postgres.projections.trip_tables import TripViewTables
from infra.postgres.projections.user_tables import UserDirectoryTables
from projections.account_mail import ACCOUNT_MAIL, MailItem
from projections.catalogue import PROJECTIONS
from projections.chat_announcements import CHAT_ANNOUNCEMENTS, Announcement
from projections.engine.projection import Projection
from projections.notifier import NOTIFIER, Notice
from read_side.recommendations import Embedder


def catalogue(
    announce: Effect[Announcement] | None = None,
    notify: Effect[Notice] | None = None,
    facts: FactPublisher | None = None,
    rates: ExchangeRates | None = None,
    embed: Embedder | None = None,
    mail: Effect[MailItem] | None = None,
) -> list[tuple[Projection[Any], StateTables[Any]]]:
    """Each projection with its tables (a projection without an adapter fails loudly).
    `announce` posts chat announcements, `notify` delivers notices to inboxes, `facts`
    publishes analytics facts (live projections only: a rebuild does none of them again),
    whose costs `rates` converts into their trip's currency; `embed` embeds the
    recommendation catalogue (None: the model the environment's settings choose); `mail`
    sends account mails."""
    every: list[StateTables[Any]] = [
        TripViewTables(),
        UserDirectoryTables(),
        CredentialTables(),
        ChatTables(),
        EffectTables(CHAT_ANNOUNCEMENTS.name, announce),
        EffectTables(NOTIFIER.name, notify),
        ScheduleTables(),
        NotificationTables(),
        SyncFeedTables(),
        RecommendationTables(embed),
        AnalyticsTables(facts, rates),
        DraftTables(),
        EffectTables(ACCOUNT_MAIL.name, mail),
    ]
    tables = {t.projection: t for t in every}
    return [(projection, tables[projection.name]) for projection in PROJECTIONS]


def tables_named(name: str) -> StateTables[Any]:
    """One projection's tables (announcing nothing)."""
    return {projection.name: tables for projection, tables in catalogue()}[name]
