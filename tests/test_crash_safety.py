"""Crash safety: a crawl killed with SIGKILL at random moments loses nothing and leaves
nothing half-written.

A few hundred article pages are generated from the 网易号 fixture template (distinct
DOCIDs, titles and texts) and served with a sitemap by the sample-site server. The crawl
(`newsarchive crawl`, its own process group with its extraction workers) is killed with
SIGKILL again and again: some kills land in start-up (the first one while the archive is
being created and migrated), the others while pages are being stored. After every kill:

- `PRAGMA integrity_check` is ok and no foreign key dangles;
- every article row is whole: its page row, its article_urls rows, its search index
  and near-duplicate index entries (one transaction per page);
- nothing stored before is gone.

The next run marks the killed run failed ("killed: …") and archives what is left; at the
end every page is archived exactly once, with no duplicate rows.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from generated_site import canonical, generate_site, start_crawl, write_seeds

from archive import open_archive
from archive.store import ArchiveWriter
from newsarchive.demo.samplesite import serve_sample_site

PAGES = 300
KILLS = 16


def stored_pages(db: Path) -> int:
    """Pages stored so far, read as datasette would: read-only, while the crawl writes."""
    try:
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            return connection.execute("select count(*) from pages").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.OperationalError:  # not created, or not migrated yet
        return 0


def kill_group(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def check_whole(db: Path) -> set[str]:
    """The archive after a kill: intact, every article whole; its canonical URLs."""
    if not db.exists():
        return set()  # killed before it was created
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("pragma integrity_check").fetchall() == [("ok",)]
        assert connection.execute("pragma foreign_key_check").fetchall() == []
        tables = {row[0] for row in connection.execute(
            "select name from sqlite_master where type = 'table'")}
        if "articles" not in tables:  # killed while creating the schema: none of it is in
            assert "_migrations" not in tables or not connection.execute(
                "select * from _migrations").fetchall()
            return set()
        broken = connection.execute("""
            select a.id, a.canonical_url from articles a
            where not exists (select 1 from pages p where p.article_id = a.id)
               or not exists (select 1 from article_urls u
                              where u.article_id = a.id and u.url = a.canonical_url)
               or not exists (select 1 from article_urls u
                              where u.article_id = a.id and u.url = a.url)
               or not exists (select 1 from articles_fts f where f.rowid = a.id)
               or not exists (select 1 from article_minhash m where m.article_id = a.id)
        """).fetchall()
        assert broken == [], f"half-written articles: {broken}"
        orphans = connection.execute("""
            select count(*) from pages p where p.article_id is not null
               and not exists (select 1 from articles a where a.id = p.article_id)""")
        assert orphans.fetchone()[0] == 0
        indexed = connection.execute("select count(*) from articles_fts").fetchone()[0]
        articles = [row[0] for row in connection.execute("select canonical_url from articles")]
        assert indexed == len(articles)
        assert len(set(articles)) == len(articles)
        return set(articles)
    finally:
        connection.close()


def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path) -> None:
    seed = int(os.environ.get("NEWSARCHIVE_CRASH_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    note = f"(NEWSARCHIVE_CRASH_SEED={seed})"
    paths = generate_site(tmp_path / "site", PAGES)
    db = tmp_path / "archive.db"
    kills: list[tuple[str, int]] = []  # (moment, pages stored when killed)
    seen: set[str] = set()
    with serve_sample_site(root=tmp_path / "site") as site:
        seeds = write_seeds(site, tmp_path / "seeds")
        expected = {canonical(n) for n in range(PAGES)}
        for number in range(KILLS):
            before = stored_pages(db)
            process = start_crawl(db, seeds)
            if number % 4 == 0:
                # Start-up: imports, the archive opened (created and migrated the first
                # time), robots.txt and the sitemap.
                moment = "start-up"
                time.sleep(rng.uniform(0.05, 2.5))
            else:
                # While storing: after a random number of this run's pages are in.
                moment = "storing"
                target = before + rng.randint(1, 25)
                while stored_pages(db) < target and process.poll() is None:
                    time.sleep(0.01)
                time.sleep(rng.uniform(0, 0.05))
            if process.poll() is not None:
                break  # finished before the kill: everything is archived
            kill_group(process)
            now = check_whole(db)
            assert seen <= now, f"rows lost after kill {number + 1} {note}"
            seen = now
            kills.append((moment, stored_pages(db)))
        # The run after the kills: closes the killed runs, archives what is left.
        final = start_crawl(db, seeds)
        _, stderr = final.communicate(timeout=600)
        assert final.returncode == 0, stderr.decode("utf-8", "replace")[-3000:] + note

    articles = check_whole(db)
    assert articles == expected, f"{len(expected - articles)} pages never archived {note}"
    connection = sqlite3.connect(db)
    try:
        urls = [row[0] for row in connection.execute("select url from pages")]
        assert sorted(urls) == sorted(site.base_url + path for path in paths), note
        runs = connection.execute(
            "select status, finish_reason from crawl_runs order by id").fetchall()
    finally:
        connection.close()
    assert len(kills) >= KILLS - 2, f"only {len(kills)} kills landed {note}"
    assert runs[-1] == ("ok", "finished")
    # A kill in start-up may come before the run's row is written; every row written by
    # a killed run was closed by the next run.
    killed = runs[:-1]
    assert 0 < len(killed) <= len(kills)
    assert all(status == "failed" and reason.startswith("killed: process ")
               for status, reason in killed), (runs, note)
    print(f"{len(kills)} SIGKILLs survived {note}: "
          + ", ".join(f"{moment}@{stored}" for moment, stored in kills))


def test_what_a_run_leaves_behind_the_next_run_fetches(tmp_path: Path) -> None:
    """max_articles stops each run short; the sitemap does not change. Its ETag is kept
    only once all it lists is archived: until then the next run reads it in full (a 304
    would hide the rest for good), afterwards it answers 304."""
    generate_site(tmp_path / "site", 30)
    db = tmp_path / "archive.db"
    with serve_sample_site(root=tmp_path / "site") as site:
        seeds = write_seeds(site, tmp_path / "seeds", "max_articles = 12")
        for _ in range(4):
            crawl = start_crawl(db, seeds)
            _, stderr = crawl.communicate(timeout=300)
            assert crawl.returncode == 0, stderr.decode("utf-8", "replace")[-2000:]
    runs = open_archive(db).execute(
        "select articles_new, not_modified from crawl_runs order by id").fetchall()
    assert runs == [(12, 0), (12, 0), (6, 0), (0, 1)]
    assert check_whole(db) == {canonical(n) for n in range(30)}


def test_a_new_run_closes_the_runs_of_dead_processes(tmp_path: Path) -> None:
    """Real processes: one that exited, one killed and not yet reaped (a zombie), one
    alive but started after the run it would own (its pid reused), and this one."""
    writer = ArchiveWriter(open_archive(tmp_path / "archive.db"))
    zombie = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    reused = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        os.kill(zombie.pid, signal.SIGKILL)
        os.waitid(os.P_PID, zombie.pid, os.WEXITED | os.WNOWAIT)  # dead, not reaped
        now = "2030-01-01T00:00:00+00:00"  # after every process here started
        runs = writer.db["crawl_runs"]
        rows = {name: runs.insert({"source": name, "started_at": started, "status": "running",
                                   "pid": pid}).last_pk
                for name, pid, started in (
                    ("exited", _dead_pid(), now), ("zombie", zombie.pid, now),
                    ("reused", reused.pid, "2000-01-01T00:00:00+00:00"),
                    ("alive", os.getpid(), now))}
        # What a new run does first.
        new_run = writer.start_run("next", pid=os.getpid())
        assert runs.get(new_run)["status"] == "running"
        status = {name: writer.db["crawl_runs"].get(run_id) for name, run_id in rows.items()}
        assert status["alive"]["status"] == "running"
        for name in ("exited", "zombie", "reused"):
            assert status[name]["status"] == "failed", name
            assert status[name]["finish_reason"].startswith("killed: process "), name
            assert status[name]["finished_at"]
        assert writer.close_dead_runs() == []  # closed once
    finally:
        for process in (zombie, reused):
            process.kill()
            process.wait()


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid
