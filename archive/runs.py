"""Crawl runs and their failures in the archive: opened, counted, closed, and closed for
a crawl that was killed before it could."""

from __future__ import annotations

import os
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from archive.transactions import write_transaction


def now_iso(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


def process_alive(pid: int, started_at: str | None = None) -> bool:
    """Whether process `pid` is still the running process that started a run at
    `started_at`. On Linux a zombie counts as dead, and so does a process that started
    after the run did (the pid was reused). Only meaningful on the machine of the run."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, IndexError, StopIteration, ValueError):
        return True  # no /proc to ask: it exists
    if fields[0] in ("Z", "X"):
        return False
    if started_at:
        started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
        with suppress(ValueError):
            if started > datetime.fromisoformat(started_at).timestamp() + 2:
                return False
    return True


class RunRecords:
    """The `crawl_runs` and `failures` rows of a crawl (ArchiveWriter's base)."""

    db: sqlite_utils.Database

    def start_run(self, source: str, pid: int | None = None) -> int:
        self.close_dead_runs()
        with write_transaction(self.db):
            table = self.db["crawl_runs"].insert(
                {"source": source, "started_at": now_iso(), "status": "running", "pid": pid})
        return int(table.last_pk)

    def close_dead_runs(self) -> list[int]:
        """Close, as failed, the `running` runs whose process is gone; their ids.

        A crawl killed with SIGKILL (the OOM killer, `kill -9`, a power cut) cannot close
        its own row, which would stay `running` for ever. Each new run looks for such
        rows; what they stored stays (every page was its own transaction)."""
        rows = self.db.execute("select id, pid, started_at from crawl_runs "
                               "where status = 'running' and pid is not null").fetchall()
        closed = []
        for run_id, pid, started_at in rows:
            if process_alive(pid, started_at):
                continue
            counts = self.run_counts(run_id)
            with write_transaction(self.db):
                # `and status = 'running'`: the scheduler may have closed it meanwhile.
                cursor = self.db.execute(
                    "update crawl_runs set status = 'failed', finished_at = ?, "
                    "finish_reason = ?, pages_fetched = ?, failures = ? "
                    "where id = ? and status = 'running'",
                    [now_iso(), f"killed: process {pid} ended without closing its run",
                     counts["pages_fetched"], counts["failures"], run_id])
            if cursor.rowcount:
                closed.append(run_id)
        return closed

    def finish_run(self, run_id: int, status: str, finish_reason: str) -> dict[str, int]:
        """Close the run with its counts."""
        counts = self.run_counts(run_id)
        with write_transaction(self.db):
            self.db["crawl_runs"].update(run_id, {
                "finished_at": now_iso(), "status": status, "finish_reason": finish_reason,
                "pages_fetched": counts["pages_fetched"], "failures": counts["failures"]})
        return counts

    def run_counts(self, run_id: int) -> dict[str, int]:
        row = self.db.execute(
            """select (select count(*) from pages where run_id = :run),
                      (select count(*) from failures where run_id = :run)""",
            {"run": run_id}).fetchone()
        run = self.db["crawl_runs"].get(run_id)
        return {"pages_fetched": row[0], "failures": row[1],
                **{key: run[key] for key in ("articles_new", "duplicates", "revised", "removed",
                                             "listings_read", "not_modified")}}

    def count(self, run_id: int | None, counter: str) -> None:
        if run_id is not None:
            self.db.execute(f"update crawl_runs set {counter} = {counter} + 1 where id = ?",
                            [run_id])

    def record_failure(self, run_id: int | None, url: str, reason: str,
                       status: int | None = None) -> None:
        with write_transaction(self.db):
            self.db["failures"].insert(
                {"run_id": run_id, "url": url, "reason": reason, "status": status,
                 "at": now_iso()})
