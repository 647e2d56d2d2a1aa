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
        """Insert with eventsourcing's retries on a lost connection, but none when the lock
        timed out: that fails at once, with its own error."""
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
        raise AssertionError("unreachable")


def notice_channel(application: Any) -> str:
    """The channel the insert function NOTIFYs on, for an application using this recorder."""
    recorder = application.recorder
    if not isinstance(recorder, OrderedPostgresApplicationRecorder):
        raise TypeError(f"{type(recorder).__name__} is not the ordered recorder")
    channel: str = recorder.channel_name
    return channel
