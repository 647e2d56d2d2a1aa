"""A reference offline-first client of the sync endpoints, on httpx and SQLite only: a local
replica of the server's rows, an outbox of mutations shown at once, push, pull and sync."""

from __future__ import annotations

from infra.sync_client.client import SyncClient, SyncTimeoutError
from infra.sync_client.records import Conflict, Mutation, Rejection, Row
from infra.sync_client.transport import Http, OfflineError, SyncError
from infra.sync_client.view import View

__all__ = [
    "Conflict",
    "Http",
    "Mutation",
    "OfflineError",
    "Rejection",
    "Row",
    "SyncClient",
    "SyncError",
    "SyncTimeoutError",
    "View",
]
