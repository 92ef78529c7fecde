"""Write transactions that wait their turn instead of failing when another process writes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlite_utils


@contextlib.contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """A transaction that takes SQLite's write lock at once (BEGIN IMMEDIATE).

    sqlite-utils' atomic() opens a deferred transaction: it reads, then upgrades to a
    write, and in WAL mode that upgrade fails at once with "database is locked" when
    another process wrote in between: the busy timeout does not apply. Taking the lock
    first makes concurrent writers (two crawls, a crawl and a reextract) wait their turn.
    Nested use becomes a savepoint of the outer transaction.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.conn.execute("COMMIT")
    except BaseException:
        if db.conn.in_transaction:  # an error may have ended the transaction already
            db.conn.execute("ROLLBACK")
        raise
