"""Scheduled monitoring: the real scheduler process runs real crawls of the sample site.

Each test starts `python -m newsarchive schedule` with short interval schedules against
the sample site on 127.0.0.1, into SQLite files in tmp_path, and stops it with a signal.
Assertions are about counts and orderings (polled with generous time limits), never
about how long something took.
"""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES, run_cli
from crawler.seeds import parse_schedule
from newsarchive.demo.samplesite import Route, SampleSite
from newsarchive.schedule.scheduler import default_jobs_db, missed_run_times
from newsarchive.schedule.supervise import Outcome, crash_reason, format_seconds, record_end

FAST = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "RETRY_TIMES=0"]
WAIT = 60  # seconds any one expected event may take on a slow, busy machine
FINAL = ("ok", "failed", "interrupted")


def source(name: str, schedule: str, *, slow: bool = False, **extra: Any) -> str:
    """A seeds [[source]]: the sample sitemap (fast), or a listing page at /slow/."""
    lines = ["[[source]]", f'name = "{name}"', f'schedule = "{schedule}"']
    if slow:
        lines += ['start_urls = ["{base}/slow/"]', "allow = ['/nothing-matches$']"]
    else:
        lines += ['sitemaps = ["{base}/sitemap.xml"]',
                  r"allow = ['/news\.sina\.com\.cn/.+\.shtml$']"]
    lines += [f"{key} = {value!r}".replace("'", '"') for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def write_seeds(site: SampleSite, seeds: Path, name: str, *sources: str) -> Path:
    seeds.mkdir(exist_ok=True)
    path = seeds / name
    # Write-then-rename: the scheduler never reads a half-written file.
    tmp = seeds / f".{name}.tmp"
    tmp.write_text("\n".join(sources).replace("{base}", site.base_url), "utf-8")
    tmp.replace(path)
    return path


def slow_page(site: SampleSite, delay: float) -> None:
    body = FIXTURES / "site" / "listing" / "page.html"
    site.overrides["/slow/"] = Route(body, 200, {"Content-Type": "text/html; charset=utf-8"},
                                     delay=delay)


def rows(db: Path, sql: str = "select * from crawl_runs order by id",
         params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    if not db.exists():
        return []
    connection = sqlite3.connect(db, timeout=30)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute(sql, params)]
    except sqlite3.OperationalError:  # not migrated yet
        return []
    finally:
        connection.close()


def runs_of(db: Path, name: str) -> list[dict[str, Any]]:
    return rows(db, "select * from crawl_runs where source = ? order by id", (name,))


def finished(db: Path, name: str) -> list[dict[str, Any]]:
    return [run for run in runs_of(db, name) if run["status"] in FINAL]


def wait_for(what: str, condition: Callable[[], Any], timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def assert_no_overlap(runs: list[dict[str, Any]]) -> None:
    for before, after in itertools.pairwise(runs):
        assert before["finished_at"] and after["started_at"] >= before["finished_at"], runs


class Scheduler:
    """`newsarchive schedule` in a child process, its log in a file."""

    def __init__(self, tmp_path: Path, seeds: Path, *args: str) -> None:
        self.db, self.seeds = tmp_path / "archive.db", seeds
        self.log_path = tmp_path / f"scheduler-{time.monotonic_ns()}.log"
        self.args = ["schedule", "--db", str(self.db), "--seeds", str(seeds), *FAST, *args]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "newsarchive", *self.args], stderr=log,
                stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})

    @property
    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace")

    def wait_log(self, text: str, timeout: float = WAIT) -> str:
        return wait_for(f"{text!r} in the log", lambda: text in self.log and self.log, timeout)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = WAIT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Scheduler]]:
    started: list[Scheduler] = []

    def _start(*args: str, seeds: Path | None = None) -> Scheduler:
        scheduler = Scheduler(tmp_path, seeds or tmp_path / "seeds", *args)
        started.append(scheduler)
        return scheduler

    yield _start
    for scheduler in started:
        scheduler.kill()


def test_runs_recorded_on_schedule_listed_and_sigterm_exits_cleanly(
        sample_site: SampleSite, tmp_path: Path, start: Callable[..., Scheduler]) -> None:
    seeds = tmp_path / "seeds"
    write_seeds(sample_site, seeds, "a.toml", source("fast", "every 2s"),
                source("manual", "every 1h").replace('schedule = "every 1h"\n', ""))
    scheduler = start("--log-file", str(tmp_path / "logs" / "scheduler.log"))
    wait_for("two finished runs", lambda: len(finished(scheduler.db, "fast")) >= 2)

    listing = run_cli("schedule", "--db", str(scheduler.db), "--seeds", str(seeds), "--list")
    assert listing.returncode == 0, listing.stderr
    assert "scheduler running" in listing.stdout
    fast_line = next(line for line in listing.stdout.splitlines() if "fast" in line)
    assert "every 2s" in fast_line and "+08:00" in fast_line
    assert "not scheduled" in next(ln for ln in listing.stdout.splitlines() if "manual" in ln)

    scheduler.process.send_signal(signal.SIGHUP)
    scheduler.wait_log("seeds reloaded")
    assert scheduler.stop() == 0
    runs = runs_of(scheduler.db, "fast")
    statuses = [run["status"] for run in runs]
    # Every run finished ok; one under way at SIGTERM ended early and says so.
    assert len(runs) >= 2 and set(statuses[:-1]) == {"ok"}, runs
    assert statuses[-1] in ("ok", "interrupted") and runs[-1]["finished_at"], runs
    assert_no_overlap(runs)
    assert runs_of(scheduler.db, "manual") == []
    log = scheduler.log
    assert "fast: ok in" in log and "scheduler stopped" in log
    assert log.index("SIGTERM: taking no new runs") < log.index("scheduler stopped")
    assert "fast: ok in" in (tmp_path / "logs" / "scheduler.log").read_text("utf-8")

    table = run_cli("runs", "--db", str(scheduler.db), "--source", "fast", "--limit", "2")
    assert table.returncode == 0, table.stderr
    body = [line for line in table.stdout.splitlines() if " fast " in line]
    assert len(body) == 2  # newest first
    for line, run in zip(body, reversed(runs[-2:]), strict=True):
        assert f" {run['id']} " in line and f" {run['status']} " in line
    for heading in ("started", "duration", "status", "fetched", "new", "duplicates", "failed"):
        assert heading in table.stdout


def test_slow_run_delays_the_next_slot_instead_of_overlapping(
        sample_site: SampleSite, tmp_path: Path, start: Callable[..., Scheduler]) -> None:
    slow_page(sample_site, delay=2)
    write_seeds(sample_site, tmp_path / "seeds", "a.toml", source("slow", "every 1s", slow=True))
    scheduler = start()
    wait_for("two finished runs", lambda: len(finished(scheduler.db, "slow")) >= 2)
    assert scheduler.stop() == 0
    runs = [run for run in runs_of(scheduler.db, "slow") if run["status"] == "ok"]
    assert len(runs) >= 2
    assert_no_overlap(runs)
    log = scheduler.log
    first_end = log.index("slow: ok in")
    # The slot that came during the first run was owed, and run as soon as it ended.
    assert log.index("slow: still running at its next slot") < first_end
    assert "slow: crawl started" in log[first_end:]
    assert log.count("slow: crawl started") <= len(runs_of(scheduler.db, "slow")) + 1


def test_crashed_hung_and_oversized_crawls_recorded_failed_and_next_run_completes(
        sample_site: SampleSite, tmp_path: Path, start: Callable[..., Scheduler]) -> None:
    slow_page(sample_site, delay=120)
    write_seeds(sample_site, tmp_path / "seeds", "a.toml",
                source("hangs", "every 2s", slow=True, timeout="6s"),
                source("hog", "every 1h", max_memory_mb=15))
    scheduler = start("--grace", "2s")

    # 1. A crawl killed from outside (a crash) before it wrote its row: the scheduler
    #    writes one, failed, with the signal as the reason.
    log = scheduler.wait_log("hangs: crawl started (pid ")
    pid = int(log.split("hangs: crawl started (pid ", 1)[1].split(";", 1)[0])
    os.kill(pid, signal.SIGKILL)
    crashed = wait_for("the crash recorded", lambda: finished(scheduler.db, "hangs"))[0]
    assert crashed["status"] == "failed" and crashed["pid"] == pid
    assert "killed by SIGKILL" in crashed["finish_reason"]

    # 2. The next run hangs on the slow page past its 6s timeout: stopped, failed.
    timed_out = wait_for("a timed-out run", lambda: [
        run for run in finished(scheduler.db, "hangs") if "timed out" in run["finish_reason"]])
    assert timed_out[0]["status"] == "failed"
    assert "still running after 6s" in timed_out[0]["finish_reason"]

    # 3. The page is fast again: the scheduler lived on and the next run completes.
    slow_page(sample_site, delay=0)
    wait_for("a run that completes", lambda: [
        run for run in finished(scheduler.db, "hangs")
        if run["status"] == "ok" and run["id"] > timed_out[0]["id"]])

    # A crawl over its memory limit is killed at once and recorded failed.
    [hog] = wait_for("the hog's run", lambda: finished(scheduler.db, "hog"))
    assert hog["status"] == "failed" and "over the 15 MB limit" in hog["finish_reason"]
    assert scheduler.stop() == 0
    assert all(run["status"] != "running" for run in rows(scheduler.db))


def test_restart_keeps_jobs_and_makes_up_missed_runs_once(
        sample_site: SampleSite, tmp_path: Path, start: Callable[..., Scheduler]) -> None:
    write_seeds(sample_site, tmp_path / "seeds", "a.toml", source("often", "every 2s"),
                source("hourly", "every 1h"))
    first = start()
    wait_for("the hourly run", lambda: finished(first.db, "hourly"))
    assert first.stop() == 0
    jobs_db = default_jobs_db(first.db)
    stored = {row["id"]: row["next_run_time"]
              for row in rows(jobs_db, "select id, next_run_time from apscheduler_jobs")}
    assert set(stored) == {"often", "hourly"}
    assert stored["hourly"] > time.time() + 3000  # its next run is an hour away

    # Down long enough for `often` to miss two slots.
    wait_for("two missed slots", lambda: time.time() > stored["often"] + 2.5, timeout=20)
    listing = run_cli("schedule", "--db", str(first.db), "--seeds", str(tmp_path / "seeds"),
                      "--list")
    assert "scheduler not running" in listing.stdout
    assert "runs once when the scheduler starts" in listing.stdout

    before = len(runs_of(first.db, "often"))
    second = start()
    second.wait_log("often: missed ")
    wait_for("a run after the restart", lambda: len(finished(second.db, "often")) > before)
    assert second.stop() == 0
    line = next(ln for ln in second.log.splitlines() if "often: missed " in ln)
    assert int(line.split("often: missed ", 1)[1].split()[0]) >= 2 and "running it once now" in line
    # The hourly job kept its state: not run again on restart, same next run time.
    assert len(runs_of(second.db, "hourly")) == 1
    after = {row["id"]: row["next_run_time"]
             for row in rows(jobs_db, "select id, next_run_time from apscheduler_jobs")}
    assert after["hourly"] == stored["hourly"]
    assert_no_overlap(runs_of(second.db, "often"))

    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    store = SQLAlchemyJobStore(url=f"sqlite:///{jobs_db}")
    store.start(None, "default")
    try:
        for job in store.get_all_jobs():
            assert (job.coalesce, job.max_instances) == (True, 1)
            assert job.misfire_grace_time == 86400
    finally:
        store.shutdown()


def test_sigterm_lets_the_running_crawl_finish_and_records_it(
        sample_site: SampleSite, tmp_path: Path, start: Callable[..., Scheduler]) -> None:
    slow_page(sample_site, delay=3)
    write_seeds(sample_site, tmp_path / "seeds", "a.toml", source("slow", "every 1h", slow=True))
    scheduler = start("--grace", "40s")
    wait_for("the slow page requested", lambda: ("GET", "/slow/") in sample_site.requests)
    assert scheduler.stop(signal.SIGTERM) == 0
    [run] = runs_of(scheduler.db, "slow")
    # The crawl got SIGINT, closed itself and recorded its run as interrupted.
    assert (run["status"], run["finish_reason"]) == ("interrupted", "shutdown"), run
    assert run["finished_at"]
    assert "giving slow up to 40s to finish in-flight pages" in scheduler.log


def test_seeds_changes_picked_up_and_a_broken_file_keeps_the_schedule(
        sample_site: SampleSite, tmp_path: Path, start: Callable[..., Scheduler]) -> None:
    seeds = tmp_path / "seeds"
    one = write_seeds(sample_site, seeds, "a.toml", source("one", "every 1h"))
    scheduler = start("--check-seeds", "1s")
    wait_for("one's run", lambda: finished(scheduler.db, "one"))

    write_seeds(sample_site, seeds, "b.toml", source("two", "every 2s"))
    scheduler.wait_log("added two (every 2s)")
    wait_for("two's run", lambda: finished(scheduler.db, "two"))

    broken = one.read_text("utf-8").replace('"every 1h"', '"every banana"')
    tmp = one.with_suffix(".tmp")
    tmp.write_text(broken, "utf-8")
    tmp.replace(one)
    log = scheduler.wait_log("seeds not reloaded, keeping the previous schedule")
    error = next(ln for ln in log.splitlines() if "seeds not reloaded" in ln)
    assert "a.toml:3" in error and "source 'one'" in error and "key 'schedule'" in error
    # The old schedule goes on, and its crawls read the last good seeds, not the broken file.
    done = len(finished(scheduler.db, "two"))
    wait_for("two runs on", lambda: len(finished(scheduler.db, "two")) >= done + 1)
    assert all(run["status"] == "ok" for run in finished(scheduler.db, "two"))
    assert scheduler.stop() == 0
    assert len(runs_of(scheduler.db, "one")) == 1


def test_bad_seeds_at_start_and_a_second_scheduler_are_refused(
        sample_site: SampleSite, tmp_path: Path, start: Callable[..., Scheduler]) -> None:
    seeds = tmp_path / "seeds"
    write_seeds(sample_site, seeds, "a.toml", source("one", "every 1h", timeout="soon"))
    result = run_cli("schedule", "--db", str(tmp_path / "a.db"), "--seeds", str(seeds))
    assert result.returncode == 1
    assert "a.toml:" in result.stderr and "key 'timeout'" in result.stderr

    write_seeds(sample_site, seeds, "a.toml", source("one", "0 6 * * *"))
    scheduler = start()
    scheduler.wait_log("scheduler started")
    second = run_cli("schedule", "--db", str(scheduler.db), "--seeds", str(seeds))
    assert second.returncode == 1 and "another scheduler" in second.stderr
    assert scheduler.stop(signal.SIGINT) == 0


# -- the parts, on their own ------------------------------------------------------------


def test_record_end_closes_or_writes_the_run(tmp_path: Path) -> None:
    from archive import open_archive
    from archive.store import ArchiveWriter

    db = tmp_path / "a.db"
    writer = ArchiveWriter(open_archive(db))
    # Died before writing its row: one is written, failed, with the reason.
    died = Outcome("s", pid=101, returncode=-9, seconds=1.0, started_at="2025-01-01T00:00:00+00:00")
    row = record_end(db, died, since=0)
    assert row and (row["status"], row["pid"]) == ("failed", 101)
    assert row["finish_reason"] == "crashed: killed by SIGKILL"
    assert row["started_at"] == "2025-01-01T00:00:00+00:00"
    # Left running: closed with the reason.
    run_id = writer.start_run("s", pid=102)
    timed_out = Outcome("s", pid=102, returncode=-9, seconds=9.0, ended_by="timeout",
                        reason="timed out: still running after 6s")
    row = record_end(db, timed_out, since=run_id - 1)
    assert row and (row["id"], row["status"]) == (run_id, "failed")
    assert row["finish_reason"] == "timed out: still running after 6s"
    # Closed by the crawl itself: left as it recorded it.
    run_id = writer.start_run("s", pid=103)
    writer.finish_run(run_id, "interrupted", "shutdown")
    stopped = Outcome("s", pid=103, returncode=0, seconds=2.0, ended_by="shutdown")
    row = record_end(db, stopped, since=run_id - 1)
    assert row and (row["status"], row["finish_reason"]) == ("interrupted", "shutdown")
    assert len(rows(db)) == 3


def test_small_helpers() -> None:
    assert crash_reason(Outcome("s", 1, 1, 0.0, output_tail=["Traceback…", "ValueError: x"])) \
        == "crashed: exit code 1: ValueError: x"
    assert [format_seconds(s) for s in (2, 2.5, 90, 3600, 5400)] == \
        ["2s", "2.5s", "1m30s", "1h", "1h30m"]
    assert default_jobs_db(Path("/x/archive.db")) == Path("/x/archive.jobs.db")
    trigger = parse_schedule("every 10s")
    from datetime import datetime, timedelta

    first = datetime.now(trigger.timezone) - timedelta(seconds=35)
    assert len(missed_run_times(trigger, first, datetime.now(trigger.timezone))) == 4
