"""The event store's table read directly, for rebuilds: counted and scanned in aggregate
order (each aggregate's events together, so a rebuild writes each state once), as far as a
given position of the notification log (a readable one, see streams/position.py: no event
can commit at or below it later). Log-order reads go through the outbox reader."""

from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent
from psycopg import sql

from streams.contracts import EventEnvelope
from streams.mapping import stored_topics_of
from streams.outbox import OutboxBatch, OutboxReader
from streams.position import LogPosition
from streams.stored import contract_of_stored

SCAN_TIMEOUT = "10min"


class PostgresEventLog:
    def __init__(self, conninfo: str, application: Any) -> None:
        """`application` is the eventsourcing application that owns the events table."""
        recorder = application.recorder
        self.table_name: str = recorder.events_table_name
        self._table = sql.Identifier(recorder.datastore.schema, recorder.events_table_name)
        self._mapper = application.mapper
        self._outbox = OutboxReader(application)
        self._conn = psycopg.connect(
            conninfo, autocommit=True, options=f"-c statement_timeout={SCAN_TIMEOUT}"
        )

    def close(self) -> None:
        self._conn.close()

    def head(self) -> LogPosition:
        return self._outbox.head()

    def count(self, topics: tuple[str, ...], up_to: LogPosition) -> int:
        row = self._conn.execute(
            sql.SQL(
                "SELECT count(*) FROM {} WHERE (transaction_id, notification_id)"
                " <= (%s::text::xid8, %s) AND topic = ANY(%s)"
            ).format(self._table),
            (*up_to, stored_topics_of(*topics)),
        ).fetchone()
        return int(row[0]) if row else 0

    def by_aggregate(
        self,
        topics: tuple[str, ...],
        up_to: LogPosition,
        after: tuple[UUID, int] | None,
        limit: int,
        before: UUID | None = None,
    ) -> list[EventEnvelope]:
        """The next `limit` events at or below position `up_to`, ordered by aggregate and
        version, after the (aggregate, version) `after` and of aggregates below `before`."""
        start = after or (UUID(int=0), 0)
        rows = self._conn.execute(
            sql.SQL(
                "SELECT originator_id, originator_version, topic, state FROM {}"
                " WHERE (originator_id, originator_version) > (%s, %s)"
                " AND (%s::uuid IS NULL OR originator_id < %s::uuid)"
                " AND (transaction_id, notification_id) <= (%s::text::xid8, %s)"
                " AND topic = ANY(%s)"
                " ORDER BY originator_id, originator_version LIMIT %s"
            ).format(self._table),
            (*start, before, before, *up_to, stored_topics_of(*topics), limit),
            binary=True,
        ).fetchall()
        events = []
        for originator_id, version, topic, state in rows:
            mapped = contract_of_stored(
                topic,
                originator_id,
                version,
                state,
                partial(
                    self._mapper.to_domain_event,
                    StoredEvent(originator_id, version, topic, state),
                ),
            )
            if mapped is not None:
                events.append(mapped.event)
        return events

    def read_after(self, position: LogPosition, limit: int) -> OutboxBatch:
        return self._outbox.read_after(position, limit)

    def events_of(self, aggregate_id: UUID, after_version: int) -> list[EventEnvelope]:
        return self._outbox.events_of(aggregate_id, after_version)
