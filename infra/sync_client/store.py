"""The replica's SQLite file: its tables, transactions and small settings (cursor, client
id, counters)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rows (
    entity_type TEXT NOT NULL, id TEXT NOT NULL, trip_id TEXT NOT NULL,
    version INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (entity_type, id));
CREATE INDEX IF NOT EXISTS rows_by_trip ON rows (trip_id);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, mutation_id TEXT NOT NULL UNIQUE,
    entity_type TEXT NOT NULL, entity_id TEXT NOT NULL, action TEXT NOT NULL,
    data TEXT NOT NULL, base_version INTEGER, client_timestamp TEXT,
    status TEXT NOT NULL DEFAULT 'pending', result TEXT);
CREATE TABLE IF NOT EXISTS message_ids (local_id TEXT PRIMARY KEY, server_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conflicts (
    conflict_id TEXT PRIMARY KEY, mutation_id TEXT, entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL, action TEXT NOT NULL, fields TEXT NOT NULL,
    client_data TEXT NOT NULL, server_data TEXT NOT NULL, resolution TEXT);
CREATE TABLE IF NOT EXISTS rejected (
    mutation_id TEXT PRIMARY KEY, entity_type TEXT NOT NULL, entity_id TEXT NOT NULL,
    action TEXT NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def connect(path: str | Path) -> sqlite3.Connection:
    """The file, its tables created; statements commit on their own unless in
    `transaction`."""
    db = sqlite3.connect(str(path), isolation_level=None)
    db.row_factory = sqlite3.Row
    db.executescript(_SCHEMA)
    return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """All or nothing; a transaction already open is joined."""
    if db.in_transaction:
        yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def get(db: sqlite3.Connection, key: str) -> str | None:
    found = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if found is None else str(found["value"])


def put(db: sqlite3.Connection, key: str, value: str | None) -> None:
    if value is None:
        db.execute("DELETE FROM meta WHERE key = ?", (key,))
    else:
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
