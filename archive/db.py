"""Open the archive: one SQLite file, WAL mode, schema brought up to date by migrations."""

from __future__ import annotations

import os
from pathlib import Path

import sqlite_utils

from archive.migrations import apply_migrations

DEFAULT_DB = Path("archive.db")
BUSY_TIMEOUT_MS = 30_000


def resolve_db_path(db: str | Path | None = None) -> Path:
    """--db wins, then NEWSARCHIVE_DB, then ./archive.db."""
    if db:
        return Path(db)
    return Path(os.environ.get("NEWSARCHIVE_DB") or DEFAULT_DB)


def open_archive(db: str | Path | None = None, *, migrate: bool = True) -> sqlite_utils.Database:
    """A connection to the archive with WAL and a busy timeout, schema migrated."""
    path = resolve_db_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    database = sqlite_utils.Database(path)
    # Readers (datasette, search, export) wait for a writer instead of failing with
    # "database is locked"; WAL lets them read while a crawl writes.
    database.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    database.enable_wal()
    database.execute("PRAGMA synchronous = NORMAL")
    database.execute("PRAGMA foreign_keys = ON")
    if migrate:
        apply_migrations(database)
    return database

