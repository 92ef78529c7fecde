"""The crawl launcher: scheduled runs forked from a process that has the crawl's imports.

Real processes throughout: the launcher as the scheduler starts it, real crawls of the
sample site on 127.0.0.1, a real scheduler killed and its launcher killed.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_schedule import (
    FAST,
    Scheduler,
    finished,
    runs_of,
    slow_page,
    source,
    start,  # noqa: F401  (a fixture)
    wait_for,
    write_seeds,
)

from archive import open_archive
from newsarchive.demo.samplesite import SampleSite
from newsarchive.schedule.launcher import Launcher, LauncherUnavailable
from newsarchive.schedule.supervise import CrawlChild, Limits, NewProcess


@pytest.fixture
def launcher() -> Iterator[Launcher]:
    handle = Launcher()
    yield handle
    handle.close()


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as stat:
        return int(stat.read().rsplit(b")", 1)[1].split()[1])


def session_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as stat:
        return int(stat.read().rsplit(b")", 1)[1].split()[3])


def launcher_pid(log: str, nth: int = 1) -> int:
    part = log.split("crawl launcher started (pid ")[nth]
    return int(part.split(")", 1)[0])


def test_a_forked_command_gets_its_arguments_directory_environment_and_exit_code(
        launcher: Launcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**os.environ, "NEWSARCHIVE_DB": str(tmp_path / "from-env.db")}
    child = launcher.spawn(["stats"], env)
    assert child.pid != os.getpid()
    output = child.stdout.read().decode()
    assert child.wait() == 1
    assert f"no archive at {tmp_path / 'from-env.db'}" in output  # its environment

    here = tmp_path / "here"
    open_archive(here / "relative.db").conn.close()
    monkeypatch.chdir(here)
    child = launcher.spawn(["stats", "--db", "relative.db"], dict(os.environ))
    output = child.stdout.read().decode()
    assert child.wait() == 0, output  # found from its working directory
    assert output.startswith("relative.db")

    child = launcher.spawn(["crawl", "--no-such-option"], dict(os.environ))
    output = child.stdout.read().decode()
    assert child.wait() == 2  # click's usage error, as on the command line
    assert "No such option" in output


def test_a_killed_child_reports_its_signal_and_the_next_one_forks_as_before(
        launcher: Launcher, tmp_path: Path) -> None:
    child = launcher.spawn(["schedule", "--db", str(tmp_path / "a.db"), "--seeds",
                            str(tmp_path / "none")], dict(os.environ))
    assert session_of(child.pid) == child.pid  # a session, so a process group, of its own
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    again = launcher.spawn(["--version"], dict(os.environ))
    assert b"newsarchive" in again.stdout.read()
    assert again.wait() == 0


def test_a_dead_launcher_is_started_again_and_one_that_cannot_fork_is_given_up(
        launcher: Launcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = launcher.spawn(["--version"], dict(os.environ))
    first.stdout.read()
    assert first.wait() == 0
    assert launcher._process is not None
    old = launcher._process.pid
    os.kill(old, signal.SIGKILL)
    launcher._process.wait()
    second = launcher.spawn(["--version"], dict(os.environ))
    assert second.stdout.read().startswith(b"newsarchive")
    assert second.wait() == 0
    assert launcher._process.pid != old

    # A launcher that exits before it forks (here: its preload finds a reactor) fails the
    # run's start twice, and then is not tried again: runs go to new processes.
    launcher.close()
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    (tmp_path / "sitecustomize.py").write_text("import twisted.internet.reactor\n")
    for _ in range(2):
        with pytest.raises(LauncherUnavailable):
            launcher.spawn(["--version"], dict(os.environ))
    with pytest.raises(LauncherUnavailable, match="failed twice"):
        launcher.spawn(["--version"], dict(os.environ))


def test_scheduled_runs_are_forked_from_the_launcher_and_survive_its_death(
        sample_site: SampleSite, tmp_path: Path, start: Callable[..., Scheduler]) -> None:  # noqa: F811
    slow_page(sample_site, delay=4)
    write_seeds(sample_site, tmp_path / "seeds", "a.toml",
                source("slow", "every 2s", slow=True), source("fast", "every 2s"))
    scheduler = start()
    log = scheduler.wait_log("slow: crawl started (pid ")
    first_launcher = launcher_pid(log)
    crawl = int(log.split("slow: crawl started (pid ", 1)[1].split(";", 1)[0])
    assert parent_of(crawl) == first_launcher
    assert session_of(crawl) == crawl

    # The launcher is killed while the slow crawl runs: the crawl finishes and records
    # itself; later runs come from a new launcher and complete.
    os.kill(first_launcher, signal.SIGKILL)
    ended = wait_for("the slow run's end", lambda: [
        run for run in finished(scheduler.db, "slow") if run["pid"] == crawl])[0]
    assert ended["status"] == "ok", ended
    wait_for("a second launcher", lambda: scheduler.log.count("crawl launcher started") >= 2)
    later = wait_for("a run from the second launcher", lambda: [
        run for run in finished(scheduler.db, "fast")
        if run["status"] == "ok" and run["started_at"] > ended["started_at"]])
    assert later
    assert scheduler.stop() == 0
    assert all(run["status"] in ("ok", "interrupted") for run in runs_of(scheduler.db, "fast"))
    assert launcher_pid(scheduler.log, 2) != first_launcher


def test_a_run_starts_as_a_new_process_when_the_launcher_is_given_up(
        sample_site: SampleSite, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_seeds(sample_site, tmp_path / "seeds", "a.toml", source("fast", "every 1h"))
    given_up = Launcher()
    given_up._failures = 2  # as after two runs it could not fork
    overrides = tuple(FAST[1::2])
    child = CrawlChild("fast", tmp_path / "archive.db", tmp_path / "seeds",
                       Limits(timeout=300, max_memory_mb=None, grace=5), overrides, given_up)
    outcome = child.run()
    assert isinstance(child.process, NewProcess)
    assert "starting the crawl as a new process" in caplog.text
    assert outcome.returncode == 0 and outcome.run is not None
    assert outcome.run["status"] == "ok" and outcome.run["articles_new"] > 0
