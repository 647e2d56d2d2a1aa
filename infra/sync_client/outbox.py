"""The outbox: the device's mutations in the order they were made, what the server answered
to each, and when a pull confirms them. Also the answers that outlive the outbox: the
server's ids of messages created here, conflicts and refusals."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from infra.sync_client.records import Conflict, Mutation, Rejection
from infra.sync_client.store import get, put, transaction


class Outbox:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def add(
        self,
        entity_type: str,
        entity_id: str,
        action: str,
        data: Mapping[str, Any],
        base_version: int | None,
        client_timestamp: str | None,
        client_id: str,
    ) -> str:
        """Queue a mutation; returns its id, `{client_id}:{n}`, n counting up."""
        with transaction(self._db) as db:
            number = int(get(db, "mutations") or 0) + 1
            put(db, "mutations", str(number))
            mutation_id = f"{client_id}:{number}"
            db.execute(
                "INSERT INTO outbox (mutation_id, entity_type, entity_id, action, data,"
                " base_version, client_timestamp) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    mutation_id,
                    entity_type,
                    entity_id,
                    action,
                    json.dumps(dict(data)),
                    base_version,
                    client_timestamp,
                ),
            )
        return mutation_id

    def entries(self, status: str | None = None, limit: int = -1) -> list[Mutation]:
        """Oldest first; only those with `status` if given."""
        where = "" if status is None else " WHERE status = ?"
        found = self._db.execute(
            f"SELECT * FROM outbox{where} ORDER BY seq LIMIT ?",
            ((status, limit) if status is not None else (limit,)),
        )
        return [_mutation(r) for r in found.fetchall()]

    def answer(self, mutation: Mutation, result: Mapping[str, Any]) -> None:
        """Keep the server's answer to a pushed mutation: the server's id of a message it
        created, a conflict, a refusal."""
        status = str(result["status"])
        with transaction(self._db) as db:
            db.execute(
                "UPDATE outbox SET status = ?, result = ? WHERE seq = ?",
                (status, json.dumps(dict(result)), mutation.seq),
            )
            if status == "applied" and result.get("server_id"):
                db.execute(
                    "INSERT OR REPLACE INTO message_ids VALUES (?, ?)",
                    (mutation.entity_id, result["server_id"]),
                )
            elif status == "conflict":
                db.execute(
                    "INSERT OR IGNORE INTO conflicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                    (
                        result["conflict_id"],
                        mutation.mutation_id,
                        mutation.entity_type,
                        mutation.entity_id,
                        mutation.action,
                        json.dumps(result.get("fields", [])),
                        json.dumps(result.get("client_data") or {}),
                        json.dumps(result.get("server_data") or {}),
                    ),
                )
            elif status == "error":
                self._reject(mutation, str(result.get("code")), str(result.get("message")))
            self.drop_confirmed()

    def reject(self, mutation: Mutation, code: str, message: str) -> None:
        """A mutation the server refused before looking at it (a malformed change): it
        never reaches the server's log, so no checkpoint will name it."""
        with transaction(self._db) as db:
            self._reject(mutation, code, message)
            db.execute("DELETE FROM outbox WHERE seq = ?", (mutation.seq,))

    def _reject(self, mutation: Mutation, code: str, message: str) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO rejected VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                mutation.mutation_id,
                mutation.entity_type,
                mutation.entity_id,
                mutation.action,
                code,
                message,
                json.dumps(mutation.data),
            ),
        )

    def confirm(self, mutation_id: str) -> None:
        """A pull's checkpoint: the server's rows hold this mutation's effects, and those
        of every one pushed before it (the server logs them in push order)."""
        found = self._db.execute(
            "SELECT seq FROM outbox WHERE mutation_id = ?", (mutation_id,)
        ).fetchone()
        if found is not None and found["seq"] > int(get(self._db, "confirmed") or 0):
            put(self._db, "confirmed", str(found["seq"]))
        self.drop_confirmed()

    def drop_confirmed(self) -> None:
        """Answered mutations up to the checkpoint are in the rows: forget them. One whose
        answer was lost stays until a retry is answered (then it goes at once)."""
        self._db.execute(
            "DELETE FROM outbox WHERE seq <= ? AND status != 'pending'",
            (int(get(self._db, "confirmed") or 0),),
        )

    def unconfirmed(self) -> int:
        """Mutations answered by a push whose effects no pull has shown yet."""
        found = self._db.execute("SELECT count(*) FROM outbox WHERE status != 'pending'")
        return int(found.fetchone()[0])

    def server_ids(self) -> dict[str, str]:
        """The server's id of each message created here, by the id this device gave it."""
        found = self._db.execute("SELECT local_id, server_id FROM message_ids")
        return {r["local_id"]: r["server_id"] for r in found.fetchall()}

    def conflicts(self) -> list[Conflict]:
        found = self._db.execute("SELECT * FROM conflicts ORDER BY rowid").fetchall()
        return [
            Conflict(
                conflict_id=r["conflict_id"],
                mutation_id=r["mutation_id"],
                entity_type=r["entity_type"],
                entity_id=r["entity_id"],
                action=r["action"],
                fields=json.loads(r["fields"]),
                client_data=json.loads(r["client_data"]),
                server_data=json.loads(r["server_data"]),
                resolution=r["resolution"],
            )
            for r in found
        ]

    def settle(self, conflict_id: str, strategy: str) -> None:
        self._db.execute(
            "UPDATE conflicts SET resolution = ? WHERE conflict_id = ?", (strategy, conflict_id)
        )

    def rejected(self) -> list[Rejection]:
        found = self._db.execute("SELECT * FROM rejected ORDER BY rowid").fetchall()
        return [
            Rejection(
                mutation_id=r["mutation_id"],
                entity_type=r["entity_type"],
                entity_id=r["entity_id"],
                action=r["action"],
                code=r["code"],
                message=r["message"],
                data=json.loads(r["data"]),
            )
            for r in found
        ]


def _mutation(r: sqlite3.Row) -> Mutation:
    return Mutation(
        seq=int(r["seq"]),
        mutation_id=r["mutation_id"],
        entity_type=r["entity_type"],
        entity_id=r["entity_id"],
        action=r["action"],
        data=json.loads(r["data"]),
        base_version=r["base_version"],
        client_timestamp=r["client_timestamp"],
        status=r["status"],
        result=None if r["result"] is None else json.loads(r["result"]),
    )
