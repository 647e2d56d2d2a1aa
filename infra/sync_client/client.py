"""The sync client: edits go to the outbox and show at once in `view()`; `push()` sends the
outbox, `pull()` brings the server's rows and confirms what the server has taken, `sync()`
does both until every answered mutation is confirmed. Offline, only push, pull and resolve
fail."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from infra.sync_client.outbox import Outbox
from infra.sync_client.records import Conflict, Mutation, Rejection, Row
from infra.sync_client.replica import Replica
from infra.sync_client.store import connect, get, put
from infra.sync_client.transport import Http, SyncError, Transport, data_of, error_of
from infra.sync_client.view import View, optimistic

MAX_CHANGES = 500  # the server's most changes per push
RESET = ("sync_reset_required", "invalid_cursor")  # 410, 400: pull again from scratch


class SyncTimeoutError(SyncError):
    def __init__(self, message: str) -> None:
        super().__init__(0, "sync_timeout", message)


class SyncClient:
    def __init__(
        self,
        http: Http,
        headers: Mapping[str, str],
        path: str | Path,
        client_id: str | None = None,
        *,
        prefix: str = "/api/v1",
        attempts: int = 6,
        backoff: float = 0.05,
        page_limit: int | None = None,
        batch_size: int = MAX_CHANGES,
        sleep: Callable[[float], None] = time.sleep,
        lost: tuple[type[Exception], ...] = (httpx.TransportError,),
        on_answer: Callable[[Mutation, dict[str, Any]], None] | None = None,
    ) -> None:
        """`http` reaches the server; `headers` carry the user's `Authorization`; `path` is
        the replica's SQLite file (it keeps the client id across restarts); `lost`: the
        exceptions of `http` that mean the connection failed (tried again); `on_answer` is
        told each push result (a log, a test's ledger)."""
        self._db = connect(path)
        self.outbox = Outbox(self._db)
        self.replica = Replica(self._db, self.outbox)
        self.transport = Transport(
            http,
            {"Authorization": headers["Authorization"]},
            prefix,
            attempts,
            backoff,
            sleep,
            lost,
        )
        self.page_limit = page_limit
        self.batch_size = min(batch_size, MAX_CHANGES)
        self.sleep = sleep
        self.on_answer = on_answer
        kept = get(self._db, "client_id")
        self.client_id = kept or client_id or f"c-{uuid.uuid4().hex[:12]}"
        if kept is None:
            put(self._db, "client_id", self.client_id)

    def close(self) -> None:
        self._db.close()

    # Offline: push, pull and resolve raise OfflineError; editing and viewing work.

    @property
    def online(self) -> bool:
        return self.transport.online

    def go_offline(self) -> None:
        self.transport.online = False

    def go_online(self) -> None:
        self.transport.online = True

    def lose_next_response(self) -> None:
        """The next push reaches the server, but its answer is lost on the way back and the
        device goes offline: its mutations stay pending, to be sent again later."""
        self.transport.lose_next = True

    # Local edits.

    def create(
        self, entity_type: str, data: Mapping[str, Any], entity_id: str | None = None
    ) -> str:
        """Queue a create; returns the new entity's id (chosen here: a uuid4)."""
        entity_id = entity_id or str(uuid.uuid4())
        self._queue(entity_type, entity_id, "create", data)
        return entity_id

    def update(self, entity_type: str, entity_id: str, data: Mapping[str, Any]) -> str:
        """Queue an update (`order` in `data`: a move); returns its mutation id. It is
        sent with the version this replica holds: only others' changes since conflict."""
        return self._queue(entity_type, entity_id, "update", data)

    def delete(self, entity_type: str, entity_id: str) -> str:
        return self._queue(entity_type, entity_id, "delete", {})

    def _queue(self, entity_type: str, entity_id: str, action: str, data: Mapping[str, Any]) -> str:
        base = None
        if action != "create":
            pulled = self.outbox.server_ids().get(entity_id, entity_id)
            row = self.replica.row(entity_type, pulled)
            base = None if row is None else row.version
        stamp = datetime.now(UTC).isoformat()
        return self.outbox.add(entity_type, entity_id, action, data, base, stamp, self.client_id)

    # What the device holds.

    def view(self) -> View:
        """The server's rows with the unconfirmed mutations played on top."""
        return optimistic(self.replica.rows(), self.outbox.entries(), self.outbox.server_ids())

    def rows(self, trip_id: str | None = None) -> list[Row]:
        """The server's rows as last pulled."""
        return self.replica.rows(trip_id)

    def pending(self) -> list[Mutation]:
        """The outbox: mutations not yet answered, or answered and not yet confirmed."""
        return self.outbox.entries()

    def conflicts(self) -> list[Conflict]:
        return self.outbox.conflicts()

    def rejected(self) -> list[Rejection]:
        return self.outbox.rejected()

    def checksum(self, trip_id: str) -> str:
        return self.replica.checksum(trip_id)

    @property
    def cursor(self) -> str | None:
        return self.replica.cursor

    # Talking to the server.

    def push(self) -> list[dict[str, Any]]:
        """Send the pending mutations, oldest first, in batches; returns each one's result.
        A batch is sent again, the same mutation ids, after a lost connection or a 5xx."""
        answered: list[dict[str, Any]] = []
        while batch := self._next_batch():
            known = self.outbox.server_ids()
            changes = [m.change(known.get(m.entity_id)) for m in batch]
            body = {"client_id": self.client_id, "changes": changes}
            response = self.transport.send("POST", "/sync/push/", body, losable=True)
            if response.status_code == 413 and len(batch) > 1:
                self.batch_size = max(1, len(batch) // 2)
                continue
            if response.status_code == 422:
                self._reject_malformed(batch, error_of(response))
                continue
            results = data_of(response)["results"]
            for mutation, result in zip(batch, results, strict=True):
                self.outbox.answer(mutation, result)
                if self.on_answer is not None:
                    self.on_answer(mutation, result)
            answered += results
        return answered

    def _next_batch(self) -> list[Mutation]:
        """The oldest pending mutations, up to an edit of a message created in the same
        batch: the edit must name the server's id of it, known once the create is in."""
        batch = self.outbox.entries("pending", self.batch_size)
        created = set()
        for index, mutation in enumerate(batch):
            if mutation.entity_type != "message":
                continue
            if mutation.entity_id in created:
                return batch[:index]
            if mutation.action == "create":
                created.add(mutation.entity_id)
        return batch

    def _reject_malformed(self, batch: list[Mutation], error: dict[str, Any]) -> None:
        """A malformed change refuses the whole push: keep it as rejected, send the rest."""
        bad = set()
        for detail in error.get("details") or []:
            parts = str(detail.get("field", "")).split(".")
            if len(parts) > 1 and parts[0] == "changes" and parts[1].isdigit():
                bad.add(int(parts[1]))
        if not bad:
            raise SyncError(422, str(error.get("code")), str(error.get("message")))
        for index in sorted(bad):
            self.outbox.reject(batch[index], "validation_failed", str(error.get("details")))

    def pull(self) -> int:
        """Every page since the cursor; returns how many. A cursor the server no longer
        honours (410) or does not know (400) drops the rows: pulled again from scratch."""
        pages, resets = 0, 0
        while True:
            body: dict[str, Any] = {"client_id": self.client_id, "cursor": self.cursor}
            if self.page_limit is not None:
                body["limit"] = self.page_limit
            response = self.transport.send("POST", "/sync/pull/", body)
            if error_of(response).get("code") in RESET and self.cursor and resets < 3:
                self.replica.reset()
                resets += 1
                continue
            page = data_of(response)
            self.replica.apply_page(page)
            pages += 1
            if not page["has_more"]:
                return pages

    def sync(self, timeout: float = 10.0, poll: float = 0.05) -> None:
        """Push, then pull until every answered mutation is confirmed (the server's views
        follow its writes a moment later); SyncTimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            self.push()
            self.pull()
            if not self.outbox.entries(limit=1):
                return
            if time.monotonic() > deadline:
                raise SyncTimeoutError(
                    f"not confirmed by a pull in {timeout} s: "
                    f"{[(m.mutation_id, m.status, m.result) for m in self.pending()]}"
                )
            self.sleep(poll)

    def resolve(
        self, conflict_id: str, strategy: str, resolved_data: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Settle a conflict on the server: server_wins, client_wins, merge or manual
        (these two with `resolved_data`). The next pull brings its effects."""
        body: dict[str, Any] = {"conflict_id": conflict_id, "resolution_strategy": strategy}
        if resolved_data is not None:
            body["resolved_data"] = dict(resolved_data)
        settled = data_of(self.transport.send("POST", "/sync/resolve/", body))
        self.outbox.settle(conflict_id, strategy)
        return settled

    def status(self) -> dict[str, Any]:
        """`GET /sync/status/` for this client."""
        query = urlencode({"client_id": self.client_id})
        return data_of(self.transport.send("GET", f"/sync/status/?{query}", None))
