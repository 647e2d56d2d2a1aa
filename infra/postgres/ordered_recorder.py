"""eventsourcing's Postgres recorder with its one-statement insert function, made safe to
tail by notification id.

eventsourcing's plain insert path takes `LOCK TABLE ... IN EXCLUSIVE MODE` so that
transactions commit in notification-id order; its faster database-function path does not, so
a reader that has moved past id N can later find a committed id below N, and the relay would
never publish that event. This recorder's function takes the same lock: one round trip per
save, and commit order equal to id order. The lock is held until the save commits.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

TOPIC = "infra.postgres.ordered_recorder:OrderedPostgresApplicationRecorder"

INSERT_ATTEMPTS = 10  # as eventsourcing retries a lost connection
INSERT_RETRY_WAIT = 0.2
_insert_once = PostgresApplicationRecorder.insert_events.__wrapped__  # without its retries


class EventStoreBusyError(OperationalError):
    """The insert lock could not be had within the lock timeout: a stuck writer or an
    anti-wraparound VACUUM holds it. Retrying at once would only queue behind it again."""


class OrderedPostgresApplicationRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A name of its own, so a plain eventsourcing process cannot replace it unlocked.
        self.pg_function_name_insert_events = (
            f"itinera_insert_events_in_order_{self.datastore.originator_id_type}"
        )
        schema = Identifier(self.datastore.schema)
        function = Identifier(self.pg_function_name_insert_events)
        table = Identifier(self.events_table_name)
        self.sql_invoke_pg_function_insert_events = SQL("SELECT * FROM {}.{}((%s))").format(
            schema, function
        )
        self.sql_create_statements[self.create_insert_function_statement_index] = SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}(events {schema}.{event_type}[]) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
            "BEGIN "
            "  SET LOCAL lock_timeout = '{lock_timeout}s'; "
            "  LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
            "  NOTIFY {channel}; "
            "  RETURN QUERY "
            "  INSERT INTO {schema}.{table} AS t (originator_id, originator_version, topic, state) "
            "  SELECT originator_id, originator_version, topic, state FROM unnest(events) "
            "  RETURNING notification_id; "
            "END; $BODY$"
        ).format(
            schema=schema,
            function=function,
            event_type=Identifier(self.stored_event_type_name),
            lock_timeout=self.datastore.lock_timeout,
            table=table,
            channel=Identifier(self.channel_name),
        )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert, retrying a lost connection as eventsourcing does, but:

        - not when the insert lock timed out: that fails at once, with its own error;
        - not when the lost reply was the commit's: a connection can drop after the server
          committed and before the client heard. Before retrying, look: if these very events
          are stored (same state, byte for byte), the insert happened, and it is not made a
          second time (the retry would find the versions taken, and the application would
          take that for a concurrent writer and run the command again)."""
        for attempt in range(1, INSERT_ATTEMPTS + 1):
            try:
                ids: Sequence[int] | None = _insert_once(self, stored_events, **kwargs)
                return ids
            except (InterfaceError, OperationalError) as error:
                if isinstance(error.__cause__, psycopg.errors.LockNotAvailable):
                    raise EventStoreBusyError(str(error)) from error
                if attempt == INSERT_ATTEMPTS:
                    raise
                time.sleep(INSERT_RETRY_WAIT * (1 + 0.1 * (random.random() - 0.5)))
                committed = self._already_stored(stored_events)
                if committed is not None:
                    return committed
        raise AssertionError("unreachable")

    def _already_stored(self, stored_events: Sequence[StoredEvent]) -> Sequence[int] | None:
        """The notification ids of these events if every one of them is stored as given;
        None if none is (or the store cannot be asked now: the retry will tell)."""
        keys = [(e.originator_id, e.originator_version) for e in stored_events]
        try:
            with self.datastore.get_connection() as conn:
                rows = conn.execute(
                    SQL(
                        "SELECT originator_id, originator_version, state, notification_id"
                        " FROM {}.{} WHERE (originator_id, originator_version) IN"
                        " (SELECT * FROM unnest(%s::uuid[], %s::bigint[]))"
                    ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name)),
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


def notice_channel(application: Any) -> str:
    """The channel the insert function NOTIFYs on, for an application using this recorder."""
    recorder = application.recorder
    if not isinstance(recorder, OrderedPostgresApplicationRecorder):
        raise TypeError(f"{type(recorder).__name__} is not the ordered recorder")
    channel: str = recorder.channel_name
    return channel
