"""The tables' adapter of every projection in projections.catalogue."""

from __future__ import annotations

from typing import Any

from infra.postgres.projections.chat_tables import ChatTables
from infra.postgres.projections.credential_tables import CredentialTables
from infra.postgres.projections.tables import StateTables
from infra.postgres.projections.trip_tables import TripViewTables
from infra.postgres.projections.user_tables import UserDirectoryTables
from projections.catalogue import PROJECTIONS
from projections.engine.projection import Projection

_ALL: list[StateTables[Any]] = [
    TripViewTables(),
    UserDirectoryTables(),
    CredentialTables(),
    ChatTables(),
]
TABLES: dict[str, StateTables[Any]] = {tables.projection: tables for tables in _ALL}


def catalogue() -> list[tuple[Projection[Any], StateTables[Any]]]:
    """Each projection with its tables (a projection without an adapter fails loudly)."""
    return [(projection, TABLES[projection.name]) for projection in PROJECTIONS]
