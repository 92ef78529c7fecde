"""Open the archive: one SQLite file, WAL mode, schema brought up to date by migrations."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from archive.migrations import MIGRATIONS, apply_migrations
from archive.signatures import refingerprint_if_stale, signatures_current

DEFAULT_DB = Path("archive.db")
BUSY_TIMEOUT_MS = 30_000
CACHE_KIB = 8192


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
    if database.journal_mode != "wal" or (migrate and _out_of_date(database)):
        # Switching to WAL and creating tables take locks SQLite will not wait for when
        # two processes open a new archive together (two crawls from the scheduler), so
        # one process at a time does it, under a lock file beside the archive.
        with _exclusive(path.with_name(path.name + ".lock")):
            database.enable_wal()
            if migrate:
                apply_migrations(database)
                refingerprint_if_stale(database)
    # 8 MiB of page cache instead of SQLite's 2: at 100,000 archived a store read 10.7
    # pages from the file and 26 from the WAL with 2, 5.2 and 18.7 with 8, and no fewer
    # with 16 (bench/dedup_cost.py's archives); pages are cached as they are read, so a
    # short command never holds it all.
    database.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    database.execute("PRAGMA synchronous = NORMAL")
    database.execute("PRAGMA foreign_keys = ON")
    return database


def _out_of_date(db: sqlite_utils.Database) -> bool:
    """Migrations to apply, or near-duplicate signatures of another MinHash algorithm."""
    if not db["_migrations"].exists():
        return True
    done = {row[0] for row in db.execute("select name from _migrations")}
    return any(m.__name__ not in done for m in MIGRATIONS) or not signatures_current(db)


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

