"""Copy the archive while crawls write it, and check a copy.

SQLite's online backup API copies the database page by page from one read transaction:
in WAL mode a reader sees one committed state and never blocks a writer, so the copy is
the archive as of one moment, whole pages' transactions only, while crawls go on. It is
done in one step (`pages=-1`): stepping through it in slices would start over each time a
crawl commits, and might never end on a busy archive.

The copy is written to a temporary file beside DEST, checked (`integrity_check` and every
article whole, archive/checks.py), made a single self-contained file (rollback journal,
not WAL), flushed to disk, and only then renamed over DEST: DEST is the old backup or the
new one, never half of one, whatever happens meanwhile.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from archive.checks import archive_counts, archive_problems
from archive.db import BUSY_TIMEOUT_MS


class BackupError(Exception):
    """A backup that could not be made or does not check out; str() says why."""


@dataclass
class BackupReport:
    path: Path
    size: int
    seconds: float
    counts: dict[str, int]


def backup_archive(source: Path, dest: Path) -> BackupReport:
    """Copy the archive at `source` to `dest` atomically; the copy checked before it
    replaces `dest`."""
    if not source.exists():
        raise BackupError(f"no archive at {source}")
    if dest.resolve() == source.resolve():
        raise BackupError(f"{dest} is the archive itself")
    dest.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    handle, temporary = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(handle)
    try:
        os.chmod(temporary, source.stat().st_mode & 0o777)  # mkstemp's is 0600
        _copy(source, Path(temporary))
        counts = _check(Path(temporary))
        _fsync(Path(temporary))
        os.replace(temporary, dest)
        _fsync(dest.parent)  # the rename itself, on disk
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return BackupReport(dest, dest.stat().st_size, time.monotonic() - started, counts)


def _copy(source: Path, temporary: Path) -> None:
    reader = sqlite3.connect(_read_only(source), uri=True,
                             timeout=BUSY_TIMEOUT_MS / 1000)
    target = sqlite3.connect(temporary)
    try:
        reader.backup(target)  # pages=-1: one read transaction, one consistent state
        target.execute("pragma journal_mode = delete")  # one file: no -wal to go with it
    except sqlite3.Error as exc:
        raise BackupError(f"copying {source} failed: {exc}") from None
    finally:
        target.close()
        reader.close()


def _check(path: Path) -> dict[str, int]:
    connection = sqlite3.connect(_read_only(path), uri=True)
    try:
        problems = archive_problems(connection)
        if problems:
            raise BackupError("the copy does not check out: " + "; ".join(problems))
        return archive_counts(connection)
    finally:
        connection.close()


def verify_backup(path: Path) -> dict[str, int]:
    """Check a backup (or any archive file) without changing it; its counts if whole,
    BackupError saying what is wrong otherwise."""
    if not path.is_file():
        raise BackupError(f"no backup at {path}")
    try:
        return _check(path)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable archive: {exc}") from None


def _read_only(path: Path) -> str:
    return path.resolve().as_uri() + "?mode=ro"


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
