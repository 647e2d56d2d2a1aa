"""eventsourcing's Postgres recorder with its one-statement insert function, made safe to
tail: each event records the id of the transaction that wrote it, and the log is read in
(transaction id, notification id) order, only below the oldest transaction still in progress.

Writers insert in parallel (no table lock): notification ids may commit out of order, but a
transaction that has not committed yet is in progress, so readers stop before it, and every
transaction that writes later gets a higher id than the oldest one in progress. A reader
that has passed a position therefore never finds an event committing behind it. See
streams/position.py for the position, and docs/design.md ("Reading the log in order").
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, ClassVar

import psycopg
from eventsourcing.persistence import (
    InterfaceError,
    Notification,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Composed, Identifier, Literal

from infra.postgres.append_notices import AppendNotices
from infra.postgres.combined_inserts import CombinedInsertFailed, CombinedInserts
from streams.position import START, LogPosition

TOPIC = "infra.postgres.ordered_recorder:OrderedPostgresApplicationRecorder"

INSERT_ATTEMPTS = 10  # as eventsourcing retries a lost connection
INSERT_RETRY_WAIT = 0.2
_insert_once = PostgresApplicationRecorder.insert_events.__wrapped__  # without its retries


class EventStoreBusyError(OperationalError):
    """A lock the insert needs could not be had within the lock timeout: a schema change
    holds the table, or a stuck transaction is writing the same aggregate version. Retrying
    at once would only queue behind it again."""


class OrderedPostgresApplicationRecorder(PostgresApplicationRecorder):
    combine_inserts: ClassVar[bool] = True  # see infra/postgres/combined_inserts.py

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pg_function_name_insert_events = (
            f"itinera_insert_events_in_order_{self.datastore.originator_id_type}"
        )
        schema = Identifier(self.datastore.schema)
        function = Identifier(self.pg_function_name_insert_events)
        self._table = SQL("{}.{}").format(schema, Identifier(self.events_table_name))
        self.sql_invoke_pg_function_insert_events = SQL("SELECT * FROM {}.{}((%b))").format(
            schema, function
        )
        # No table lock: the events' transaction id (the column's default) orders the log.
        # The lock timeout still bounds a wait for a lock the insert needs (see
        # EventStoreBusyError). No NOTIFY either: `_announce` has one sent once committed.
        self.sql_create_statements[self.create_insert_function_statement_index] = SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}(events {schema}.{event_type}[]) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
            "BEGIN "
            "  SET LOCAL lock_timeout = '{lock_timeout}s'; "
            "  RETURN QUERY "
            "  INSERT INTO {table} AS t (originator_id, originator_version, topic, state) "
            "  SELECT originator_id, originator_version, topic, state FROM unnest(events) "
            "  RETURNING notification_id; "
            "END; $BODY$"
        ).format(
            schema=schema,
            function=function,
            event_type=Identifier(self.stored_event_type_name),
            lock_timeout=self.datastore.lock_timeout,
            table=self._table,
        )
        self._notices = AppendNotices(
            self.datastore.get_connection, self.channel_name, lambda: self.datastore.pool.closed
        )
        self._combined = CombinedInserts(partial(_insert_once, self))
        self.sql_create_statements.append(self._transaction_column_statement())
        readable = SQL("transaction_id < pg_snapshot_xmin(pg_current_snapshot())")
        self._select_after = SQL(
            "SELECT transaction_id::text::bigint AS transaction, notification_id,"
            " originator_id, originator_version, topic, state FROM {table}"
            " WHERE (transaction_id, notification_id) > (%s::text::xid8, %s) AND {readable}"
            " ORDER BY transaction_id, notification_id LIMIT %s"
        ).format(table=self._table, readable=readable)
        self._select_head = SQL(
            "SELECT transaction_id::text::bigint AS transaction, notification_id FROM {table}"
            " WHERE {readable} ORDER BY transaction_id DESC, notification_id DESC LIMIT 1"
        ).format(table=self._table, readable=readable)
        self._select_recorded_head = SQL(
            "SELECT transaction_id::text::bigint AS transaction, notification_id FROM {table}"
            " ORDER BY transaction_id DESC, notification_id DESC LIMIT 1"
        ).format(table=self._table)
        self._count_after = SQL(
            "SELECT count(*) AS n FROM (SELECT FROM {table}"
            " WHERE (transaction_id, notification_id) > (%s::text::xid8, %s) LIMIT %s) AS a"
        ).format(table=self._table)

    def _transaction_column_statement(self) -> Composed:
        """The transaction id column and its index, on a new table and on one that predates
        them. Existing rows get 0 (a constant default rewrites nothing), so they are read
        first, in their old order; then the default becomes the writing transaction's id.
        Looked up first, so a start takes no lock on the table when they exist."""
        index = f"{self.events_table_name}_position_idx"
        return SQL(
            "DO $DO$ BEGIN "
            "IF NOT EXISTS (SELECT FROM information_schema.columns WHERE table_schema = {s}"
            "  AND table_name = {t} AND column_name = 'transaction_id') THEN "
            "  ALTER TABLE {table} ADD COLUMN transaction_id xid8 NOT NULL DEFAULT '0'; "
            "  ALTER TABLE {table} ALTER COLUMN transaction_id SET DEFAULT pg_current_xact_id(); "
            "END IF; "
            "IF NOT EXISTS (SELECT FROM pg_indexes WHERE schemaname = {s} AND indexname = {i})"
            " THEN CREATE INDEX {index} ON {table} (transaction_id, notification_id); "
            "END IF; "
            "END $DO$"
        ).format(
            s=Literal(self.datastore.schema),
            t=Literal(self.events_table_name),
            i=Literal(index),
            index=Identifier(index),
            table=self._table,
        )

    def notifications_after(
        self, position: LogPosition, limit: int
    ) -> list[tuple[LogPosition, Notification]]:
        """The next notifications after `position` in (transaction id, notification id)
        order, of transactions older than every one still in progress (whose events may
        still commit, and would sort after what is returned)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_after, (*position, limit), prepare=True)
            return [
                (
                    LogPosition(int(row["transaction"]), int(row["notification_id"])),
                    Notification(
                        id=row["notification_id"],
                        originator_id=row["originator_id"],
                        originator_version=row["originator_version"],
                        topic=row["topic"],
                        state=bytes(row["state"]),
                    ),
                )
                for row in curs.fetchall()
            ]

    def readable_head(self) -> LogPosition:
        return self._position(self._select_head)

    def recorded_head(self) -> LogPosition:
        return self._position(self._select_recorded_head)

    def _position(self, statement: Composed) -> LogPosition:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, prepare=True)
            row = curs.fetchone()
        if row is None:
            return START
        return LogPosition(int(row["transaction"]), int(row["notification_id"]))

    def count_after(self, position: LogPosition, at_most: int) -> int:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._count_after, (*position, at_most), prepare=True)
            row = curs.fetchone()
        return 0 if row is None else int(row["n"])

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert, with the appends other threads make meanwhile (see
        infra/postgres/combined_inserts.py), retrying a lost connection as eventsourcing
        does, but:

        - not when a lock the insert needs timed out: that fails at once, with its own error;
        - not when the lost reply was the commit's: a connection can drop after the server
          committed and before the client heard. Before retrying, look: if these very events
          are stored (same state, byte for byte), the insert happened, and it is not made a
          second time (the retry would find the versions taken, and the application would
          take that for a concurrent writer and run the command again).

        When a statement combined with other appends fails, these events are sent alone:
        at once if the statement was refused (another append's version was taken: nothing
        of it was stored), after the look above if the connection was lost. A lock timeout
        fails them all at once, as it fails a lone append: the statement waited that long
        for a lock the table's other writers need too (a schema change), and each would wait
        again alone."""
        alone: Callable[[Sequence[StoredEvent]], Sequence[int] | None] = partial(
            _insert_once, self, **kwargs
        )
        # Only what the insert function takes is combined (eventsourcing passes tracking=None).
        together = (
            self.combine_inserts and self.datastore.enable_db_functions and not any(kwargs.values())
        )
        insert = self._combined.insert if together else alone
        for attempt in range(1, INSERT_ATTEMPTS + 1):
            try:
                ids = insert(stored_events)
            except CombinedInsertFailed as failed:
                if _lock_timed_out(failed.cause):
                    raise EventStoreBusyError(str(failed.cause)) from failed.cause
                insert = alone
                if not isinstance(failed.cause, (InterfaceError, OperationalError)):
                    continue  # refused as a whole, nothing of it stored: alone, at once
                error: BaseException = failed.cause
            except (InterfaceError, OperationalError) as own:
                if _lock_timed_out(own):
                    raise EventStoreBusyError(str(own)) from own
                error = own
            else:
                self._announce()
                return ids
            if attempt == INSERT_ATTEMPTS:
                raise error
            time.sleep(INSERT_RETRY_WAIT * (1 + 0.1 * (random.random() - 0.5)))
            committed = self._already_stored(stored_events)
            if committed is not None:
                self._announce()
                return committed
        raise AssertionError("unreachable")

    def _announce(self) -> None:
        """The notice that events were appended, sent once they are committed (see
        infra/postgres/append_notices.py)."""
        self._notices.announce()

    def _already_stored(self, stored_events: Sequence[StoredEvent]) -> Sequence[int] | None:
        """The notification ids of these events if every one of them is stored as given;
        None if none is (or the store cannot be asked now: the retry will tell)."""
        keys = [(e.originator_id, e.originator_version) for e in stored_events]
        try:
            with self.datastore.get_connection() as conn:
                rows = conn.execute(
                    SQL(
                        "SELECT originator_id, originator_version, state, notification_id"
                        " FROM {} WHERE (originator_id, originator_version) IN"
                        " (SELECT * FROM unnest(%s::uuid[], %s::bigint[]))"
                    ).format(self._table),
                    ([k[0] for k in keys], [k[1] for k in keys]),
                ).fetchall()
        except psycopg.Error:
            return None
        found = {(r["originator_id"], r["originator_version"]): r for r in rows}
        if not found:
            return None
        mine = all(
            (key in found and bytes(found[key]["state"]) == event.state)
            for key, event in zip(keys, stored_events, strict=True)
        )
        if not mine:
            return None  # someone else's events: the retry meets the versions taken, as it should
        return [int(found[key]["notification_id"]) for key in keys]


def _lock_timed_out(error: BaseException) -> bool:
    return isinstance(error.__cause__, psycopg.errors.LockNotAvailable)


def notice_channel(application: Any) -> str:
    """The channel the insert function NOTIFYs on, for an application using this recorder."""
    recorder = application.recorder
    if not isinstance(recorder, OrderedPostgresApplicationRecorder):
        raise TypeError(f"{type(recorder).__name__} is not the ordered recorder")
    channel: str = recorder.channel_name
    return channel
