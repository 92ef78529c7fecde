"""One scheduler per job store: an flock on `JOBS_DB.lock`, which also names its pid."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def single_instance(jobs_db: Path) -> Iterator[None]:
    """Refuse a second scheduler on the same job store: both would run every job."""
    jobs_db.parent.mkdir(parents=True, exist_ok=True)
    lock_path = jobs_db.with_name(jobs_db.name + ".lock")
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise RuntimeError(f"another scheduler (pid {holder}) is using {jobs_db}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()



def scheduler_pid(jobs_db: Path) -> int | None:
    """The pid of the scheduler holding this job store, or None when none runs."""
    lock_path = jobs_db.with_name(jobs_db.name + ".lock")
    if not lock_path.exists():
        return None
    with open(lock_path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read().strip()
            return int(text) if text.isdigit() else -1
        return None
