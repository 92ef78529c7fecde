"""Durability: what a power cut or a full disk leaves, and that the next run continues.

Power cut. The archive runs in WAL mode with `synchronous = NORMAL`: a commit is written
to the WAL but not flushed to disk; the WAL is flushed before each checkpoint copies it
into the database file, and the database file before the WAL is reused. So after a power
cut the disk holds the database file as of a checkpoint and some prefix of the WAL (pages
the kernel wrote out of order end the prefix: each WAL frame carries a checksum chained
to the previous one and the WAL's salt, and recovery stops at the first that does not
match). The test makes exactly those states from a crawl killed mid-way: the database
file with the WAL cut at many points, mid-frame included. Each opens whole; the later the
cut, the more articles; and a crawl continuing from the worst one (no WAL at all)
archives every page exactly once: what a power cut loses is the last transactions, and
the next run fetches them again (a listing's validators are committed after the articles
they cover, so they are never kept without them).

Full disk. The archive is put on a 4 MB tmpfs; the crawl of 300 pages (about 9 MB)
fills it, stops with one clear line, leaves the archive whole, and the next run, given
room, archives the rest.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from generated_site import canonical, generate_site, start_crawl, write_seeds

from archive.checks import archive_problems
from newsarchive.demo.samplesite import SampleSite, serve_sample_site

PAGES = 300
WAL_HEADER, FRAME_HEADER, PAGE_SIZE = 32, 24, 4096


def count(db: Path, sql: str = "select count(*) from articles") -> int:
    connection = sqlite3.connect(db)
    try:
        return connection.execute(sql).fetchone()[0]
    finally:
        connection.close()


def problems(db: Path) -> list[str]:
    connection = sqlite3.connect(db)
    try:
        return archive_problems(connection)
    finally:
        connection.close()


def stored(db: Path) -> int:
    try:
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            return connection.execute("select count(*) from pages").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.OperationalError:
        return 0


@pytest.fixture
def site(tmp_path: Path) -> Iterator[SampleSite]:
    generate_site(tmp_path / "site", PAGES)
    with serve_sample_site(root=tmp_path / "site") as served:
        yield served


def finish(process: subprocess.Popen[bytes]) -> str:
    _, stderr = process.communicate(timeout=600)
    return stderr.decode("utf-8", "replace")


def test_a_power_cut_loses_only_the_last_transactions(site: SampleSite, tmp_path: Path) -> None:
    db, seeds = tmp_path / "archive.db", write_seeds(site, tmp_path / "seeds")
    crawl = start_crawl(db, seeds)
    while stored(db) < 120 and crawl.poll() is None:
        time.sleep(0.05)
    os.killpg(crawl.pid, signal.SIGKILL)  # no checkpoint on close: the WAL stays
    crawl.communicate()
    wal = Path(f"{db}-wal").read_bytes()
    frame = FRAME_HEADER + PAGE_SIZE
    frames = (len(wal) - WAL_HEADER) // frame
    assert frames > 50, "the WAL should hold many commits"
    cuts = sorted({0, WAL_HEADER, *(WAL_HEADER + frame * n * frames // 8 for n in range(1, 9)),
                   *(WAL_HEADER + frame * n * frames // 5 + 1000 for n in range(5)), len(wal)})
    found = []
    for cut in cuts:
        copy = tmp_path / "cut" / str(cut) / "archive.db"
        copy.parent.mkdir(parents=True)
        shutil.copy(db, copy)
        Path(f"{copy}-wal").write_bytes(wal[:cut])
        assert problems(copy) == [], f"WAL cut at byte {cut}"
        found.append(count(copy))
    assert found == sorted(found)  # a longer WAL, more articles, never fewer
    assert found[-1] == count(db) and found[0] < found[-1]

    # The worst case continued: nothing of the WAL survived.
    worst = tmp_path / "cut" / "0" / "archive.db"
    again = start_crawl(worst, seeds)
    stderr = finish(again)
    assert again.returncode == 0, stderr[-3000:]
    assert problems(worst) == []
    urls = [row[0] for row in sqlite3.connect(worst).execute("select canonical_url from articles")]
    assert sorted(urls) == sorted(canonical(n) for n in range(PAGES))
    print(f"\nWAL of {frames} frames cut at {len(cuts)} points: articles {found}")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_stops_the_crawl_and_the_next_run_continues(
        site: SampleSite, small_disk: Path, tmp_path: Path) -> None:
    db, seeds = small_disk / "archive.db", write_seeds(site, tmp_path / "seeds")
    first = start_crawl(db, seeds)
    stderr = finish(first)
    assert first.returncode == 1
    lines = stderr.splitlines()
    [full] = [line for line in lines if line.startswith("disk full")]
    assert full.startswith(f"disk full: the disk holding {db} has no room left "
                           "(database or disk is full); the archive is intact")
    assert "Traceback" not in stderr
    assert problems(db) == []
    archived = count(db)
    assert 0 < archived < PAGES

    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    second = start_crawl(db, seeds)
    stderr = finish(second)
    assert second.returncode == 0, stderr[-3000:]
    assert problems(db) == []
    urls = [row[0] for row in sqlite3.connect(db).execute("select canonical_url from articles")]
    assert sorted(urls) == sorted(canonical(n) for n in range(PAGES))
    assert count(db, "select count(*) from crawl_runs where status = 'failed'") == 1
    print(f"\nfull disk: {archived} of {PAGES} archived before the disk filled")
