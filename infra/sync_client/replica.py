"""The replica: the server's rows as last pulled, and the cursor to pull on from. A pull
page is applied at once, with the write checkpoint it brings (see `Outbox.confirm`)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from infra.sync_client.outbox import Outbox
from infra.sync_client.records import ENTITY_TYPES, PLURAL, Row
from infra.sync_client.store import get, put, transaction


class Replica:
    def __init__(self, db: sqlite3.Connection, outbox: Outbox) -> None:
        self._db = db
        self._outbox = outbox

    @property
    def cursor(self) -> str | None:
        return get(self._db, "cursor")

    def rows(self, trip_id: str | None = None) -> list[Row]:
        query = "SELECT * FROM rows" + ("" if trip_id is None else " WHERE trip_id = ?")
        found = self._db.execute(query, () if trip_id is None else (trip_id,))
        return [_row(r) for r in found.fetchall()]

    def row(self, entity_type: str, entity_id: str) -> Row | None:
        found = self._db.execute(
            "SELECT * FROM rows WHERE entity_type = ? AND id = ?", (entity_type, entity_id)
        ).fetchone()
        return None if found is None else _row(found)

    def apply_page(self, page: Mapping[str, Any]) -> None:
        """One pull page: its rows, its tombstones (a trip's purges everything of it, a
        destination's its activities), its cursor and its write checkpoint."""
        with transaction(self._db) as db:
            for entity_type in ENTITY_TYPES:
                for data in page[PLURAL[entity_type]]:
                    trip_id = data["id"] if entity_type == "trip" else data["trip_id"]
                    db.execute(
                        "INSERT OR REPLACE INTO rows VALUES (?, ?, ?, ?, ?)",
                        (entity_type, data["id"], trip_id, data["version"], json.dumps(data)),
                    )
            deleted = page["deleted"]
            for entity_type in ENTITY_TYPES:
                for entity_id in deleted[PLURAL[entity_type]]:
                    db.execute(
                        "DELETE FROM rows WHERE entity_type = ? AND id = ?",
                        (entity_type, entity_id),
                    )
            for entity_id in deleted["destinations"]:
                db.execute(
                    "DELETE FROM rows WHERE entity_type = 'activity'"
                    " AND json_extract(data, '$.destination_id') = ?",
                    (entity_id,),
                )
            for trip_id in deleted["trips"]:
                db.execute("DELETE FROM rows WHERE trip_id = ?", (trip_id,))
            put(db, "cursor", page["cursor"])
            if page.get("last_mutation_id") is not None:
                self._outbox.confirm(page["last_mutation_id"])

    def reset(self) -> None:
        """Forget every row and the cursor (the server asked for a fresh start); the
        outbox, conflicts and refusals stay."""
        with transaction(self._db) as db:
            db.execute("DELETE FROM rows")
            put(db, "cursor", None)

    def checksum(self, trip_id: str) -> str:
        """As `GET /sync/status/` computes it: sha256 of `type:id:version` per live entity
        of the trip, ordered by id, one per line."""
        rows = sorted(self.rows(trip_id), key=lambda r: UUID(r.id))
        lines = "\n".join(f"{r.entity_type}:{r.id}:{r.version}" for r in rows)
        return hashlib.sha256(lines.encode()).hexdigest()


def _row(r: sqlite3.Row) -> Row:
    return Row(r["entity_type"], r["id"], r["trip_id"], int(r["version"]), json.loads(r["data"]))
