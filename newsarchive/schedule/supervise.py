"""Run one crawl in its own child process, watched for time and memory, and record its end.

The scheduler never runs Scrapy in its own process: Twisted's reactor cannot be
restarted, and a crawl that crashes, hangs or leaks must take nothing else down with it.
So each run is `newsarchive crawl SOURCE` in a child process of a new session (its own
process group: the terminal's Ctrl-C and systemd's stop signal reach the scheduler only,
which then stops the child on its own terms, and a kill reaches the extraction workers
too). The child is forked from the crawl launcher (newsarchive/schedule/launcher.py),
which has the crawl's imports loaded already; if the launcher cannot be had, it is a new
`python -m newsarchive crawl SOURCE` process, as it was before the launcher.

The child writes its own `crawl_runs` row. When it is ended from outside, or dies, that
row is left `running` (or was never written): `record_end` closes or inserts it with the
reason, so every scheduled run leaves exactly one honest row.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive import open_archive
from archive.runs import now_iso
from archive.store import ArchiveWriter
from newsarchive.schedule.launcher import LaunchedChild, Launcher, LauncherUnavailable

log = logging.getLogger("newsarchive.commands.schedule")

POLL_SECONDS = 0.25
MEMORY_POLL_SECONDS = 0.5
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Limits:
    timeout: float  # seconds a run may take before it is stopped and recorded failed
    max_memory_mb: int | None  # the process group's memory (PSS) before it is killed
    grace: float  # seconds from SIGINT to SIGKILL when a run is stopped


@dataclass
class Outcome:
    """How a child run ended, and its `crawl_runs` row as finally recorded."""

    source: str
    pid: int
    returncode: int | None
    seconds: float
    started_at: str = ""  # when the child was started (UTC, ISO 8601)
    ended_by: str | None = None  # "timeout", "memory", "shutdown" or None (ended itself)
    reason: str | None = None
    run: dict[str, Any] | None = None
    output_tail: list[str] = field(default_factory=list)


class CrawlChild:
    """One `newsarchive crawl SOURCE` child process and its watcher."""

    def __init__(self, source: str, db: Path, seeds_dir: Path, limits: Limits,
                 overrides: tuple[str, ...] = (), launcher: Launcher | None = None) -> None:
        self.source, self.db, self.seeds_dir, self.limits = source, db, seeds_dir, limits
        self.overrides = overrides
        self.launcher = launcher
        self._stop = threading.Event()
        self._force = threading.Event()
        self.process: LaunchedChild | NewProcess | None = None
        self._tail: collections.deque[str] = collections.deque(maxlen=40)

    def arguments(self) -> list[str]:
        """The `newsarchive` command line of the run."""
        args = ["crawl", self.source, "--db", str(self.db), "--seeds", str(self.seeds_dir)]
        for override in self.overrides:
            args += ["-s", override]
        return args

    def _start(self, env: dict[str, str]) -> LaunchedChild | NewProcess:
        if self.launcher is not None:
            try:
                return self.launcher.spawn(self.arguments(), env)
            except LauncherUnavailable as exc:
                log.warning("%s: %s; starting the crawl as a new process", self.source, exc)
        return NewProcess(subprocess.Popen(
            [sys.executable, "-m", "newsarchive", *self.arguments()], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=env, start_new_session=True))

    def stop(self, force: bool = False) -> None:
        """Ask for a graceful end (scheduler shutdown), or with `force` a kill now; safe
        from any thread and from a signal handler."""
        if force:
            self._force.set()
        self._stop.set()

    def run(self) -> Outcome:
        """Start the child, watch it until it ends, record the run; never raises for the
        child's sake (a crawl's failure is data, not a scheduler error)."""
        since = _last_run_id(self.db)
        started, started_at = time.monotonic(), now_iso()
        self.process = self._start({**os.environ, "PYTHONUNBUFFERED": "1"})
        pid = self.process.pid
        memory = self.limits.max_memory_mb
        log.info("%s: crawl started (pid %d; limits: %s, %s)", self.source, pid,
                 format_seconds(self.limits.timeout), f"{memory} MB" if memory else "no memory cap")
        reader = threading.Thread(target=self._read_output, name=f"output-{self.source}",
                                  daemon=True)
        reader.start()
        ended_by, reason = self._watch(started)
        returncode = self.process.wait()
        reader.join(timeout=5)
        _kill_leftovers(pid, self.source)
        outcome = Outcome(self.source, pid, returncode, time.monotonic() - started,
                          started_at, ended_by, reason, output_tail=list(self._tail))
        outcome.run = record_end(self.db, outcome, since)
        return outcome

    def _watch(self, started: float) -> tuple[str | None, str | None]:
        """Poll until the child exits; stop it on shutdown, timeout or memory."""
        assert self.process is not None
        pid, limits = self.process.pid, self.limits
        ended_by: str | None = None
        reason = ""
        kill_at: float | None = None  # when SIGKILL follows the SIGINT
        killed = False
        next_memory_check = 0.0
        while self.process.running():
            now = time.monotonic()
            if ended_by is None:
                if self._stop.is_set():
                    ended_by, reason = "shutdown", "scheduler stopped"
                elif now - started > limits.timeout:
                    ended_by = "timeout"
                    reason = f"timed out: still running after {format_seconds(limits.timeout)}"
                    log.warning("%s: %s; stopping it", self.source, reason)
                elif limits.max_memory_mb and now >= next_memory_check:
                    next_memory_check = now + MEMORY_POLL_SECONDS
                    used = group_memory_mb(pid)
                    if used > limits.max_memory_mb:
                        ended_by = "memory"
                        reason = (f"out of memory: {used:.0f} MB, over the "
                                  f"{limits.max_memory_mb} MB limit; killed")
                        log.warning("%s: %s", self.source, reason)
                        kill_at = now  # no grace: a leak grows while it is waited for
                if ended_by is not None and kill_at is None:
                    self._interrupt(pid)
                    kill_at = now + limits.grace
            if kill_at is not None and self._force.is_set():
                kill_at = min(kill_at, now)  # a second stop signal: no more grace
            if kill_at is not None and now >= kill_at and not killed:
                if ended_by != "memory":
                    log.warning("%s: still running after SIGINT; killing it", self.source)
                    reason += "; killed after the grace time"
                _signal_group(pid, signal.SIGKILL)
                killed = True
            time.sleep(POLL_SECONDS)
        return ended_by, reason or None

    def _interrupt(self, pid: int) -> None:
        # SIGINT to the crawl only (not its extraction workers): Scrapy closes the spider
        # gracefully, lets in-flight pages land and records the run as interrupted.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)

    def _read_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            if line.strip():
                self._tail.append(line)
                log.debug("%s| %s", self.source, line)


class NewProcess:
    """A crawl started as a new process: Popen, as CrawlChild watches a LaunchedChild."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.popen, self.pid, self.stdout = process, process.pid, process.stdout

    def running(self) -> bool:
        return self.popen.poll() is None

    def wait(self) -> int | None:
        return self.popen.wait()


def record_end(db: Path, outcome: Outcome, since: int) -> dict[str, Any] | None:
    """Close the child's `crawl_runs` row when it could not, or insert one if it never
    wrote one; return the row as recorded."""
    database = open_archive(db)
    try:
        row = _child_row(database, outcome.source, outcome.pid, since)
        closed_itself = row is not None and row["status"] != "running"
        if outcome.ended_by in ("timeout", "memory"):
            # Stopped for its limits: failed, even if it then closed gracefully.
            status, reason = "failed", outcome.reason or outcome.ended_by
        elif closed_itself:
            return row  # it recorded its own end (ok, failed, or interrupted at shutdown)
        elif outcome.ended_by == "shutdown":
            status, reason = "interrupted", outcome.reason or "scheduler stopped"
        else:
            status, reason = "failed", crash_reason(outcome)
        writer = ArchiveWriter(database)
        # Take the write lock first (waiting out other crawls' writes under the busy
        # timeout): a read-then-write transaction would fail at once with "database is
        # locked" when another crawl wrote in between.
        with _immediate(database):
            if row is None:  # it died before writing its row
                run_id = writer.start_run(outcome.source, pid=outcome.pid)
                if outcome.started_at:
                    database["crawl_runs"].update(run_id, {"started_at": outcome.started_at})
            else:
                run_id = row["id"]
            writer.finish_run(run_id, status, reason)
        return _child_row(database, outcome.source, outcome.pid, since)
    finally:
        database.conn.close()


@contextlib.contextmanager
def _immediate(database: Any) -> Iterator[None]:
    database.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        database.conn.rollback()
        raise
    database.conn.commit()


def crash_reason(outcome: Outcome) -> str:
    code = outcome.returncode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        what = f"crashed: killed by {name}"
    elif code is None:  # its launcher died before it: nobody saw how it ended
        what = "ended without recording its end (exit code unknown: the launcher died)"
    else:
        what = f"crashed: exit code {code}"
    last = next((line for line in reversed(outcome.output_tail)
                 if line.strip() and not line.startswith((" ", "\u2502", "\u2514", "\u250f"))),
                None)
    return f"{what}: {last.strip()[:300]}" if last else what


def _child_row(database: Any, source: str, pid: int, since: int) -> dict[str, Any] | None:
    rows = list(database.query(
        "select * from crawl_runs where source = ? and pid = ? and id > ? "
        "order by id desc limit 1", [source, pid, since]))
    return rows[0] if rows else None


def _last_run_id(db: Path) -> int:
    database = open_archive(db)
    try:
        return database.execute("select coalesce(max(id), 0) from crawl_runs").fetchone()[0]
    finally:
        database.conn.close()


def group_memory_mb(pgid: int) -> float:
    """Memory of every process in the group, in MB: PSS where the kernel gives it (shared
    pages counted once across the crawl and its forked workers), else RSS."""
    total = 0
    for pid in group_members(pgid):
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
                total += next(int(line.split()[1]) * 1024 for line in rollup
                              if line.startswith(b"Pss:"))
                continue
        except (OSError, StopIteration, ValueError):
            pass
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            total += int(fields[21]) * PAGE_SIZE
        except (OSError, IndexError, ValueError):
            continue  # it ended meanwhile
    return total / (1024 * 1024)


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            members.append(int(entry))
    return members


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _kill_leftovers(pgid: int, source: str) -> None:
    # A killed crawl can leave its extraction workers behind; they belong to its group.
    # Workers of a crawl that ended normally exit a moment after it: give them that.
    deadline = time.monotonic() + 3
    while (left := group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    if left:
        log.warning("%s: %d process(es) of the crawl outlived it; killing them", source, len(left))
        _signal_group(pgid, signal.SIGKILL)


def format_seconds(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds % 1 else f"{seconds:.0f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s" if secs else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
