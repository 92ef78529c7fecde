"""Concurrent use: `newsarchive serve` (datasette), `newsarchive search` and
`newsarchive export` read the archive while a crawl writes to it.

No reader fails with "database is locked" or sees a partial write (an article without
its URLs or its page, an export row whose text does not match its hash), and the crawl
is not slowed into failure by them: WAL lets readers read a consistent snapshot while
the crawl commits, and every connection waits (busy timeout) rather than fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
from browse_data import serving
from generated_site import canonical, generate_site, start_crawl, write_seeds

from archive import open_archive
from archive.store import content_hash
from newsarchive.demo.samplesite import serve_sample_site

PAGES = 200
# Whole-article consistency, as one SELECT in one snapshot: 0 at every moment.
PARTIAL = """select count(*) as n from articles a
             where not exists (select 1 from article_urls u where u.article_id = a.id)
                or not exists (select 1 from pages p where p.article_id = a.id)"""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "newsarchive", *args], capture_output=True,
                          text=True, timeout=300, check=False)


class Reader(threading.Thread):
    """Calls `read` over and over until told to stop; keeps what went wrong."""

    def __init__(self, name: str, read: Callable[[], int]) -> None:
        super().__init__(name=name, daemon=True)
        self.read = read
        self.stop = threading.Event()
        self.seen: list[int] = []  # how many articles each read saw
        self.errors: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.seen.append(self.read())
            except AssertionError as error:
                self.errors.append(f"{self.name}: {error}")


def search(db: Path) -> int:
    result = cli("search", "稿件", "--limit", "1000", "--db", str(db))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "locked" not in result.stderr
    return result.stdout.count("号稿件")


def export(db: Path) -> int:
    result = cli("export", "--db", str(db))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "locked" not in result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    ids = [row["id"] for row in rows]
    assert ids == sorted(set(ids))
    for row in rows:  # every row whole
        assert row["text"] and row["content_hash"] == content_hash(row["text"]), row["id"]
        assert row["canonical_url"].startswith("https://www.163.com/dy/article/CRASH")
    return len(rows)


def datasette(base: str) -> Callable[[], int]:
    def read() -> int:
        pages = [httpx.get(f"{base}/archive/articles.json", timeout=60,
                           params={"_search": "稿件", "_shape": "array", "_size": "max"}),
                 httpx.get(f"{base}/archive/articles", timeout=60),
                 httpx.get(f"{base}/archive.json", timeout=60,
                           params={"sql": PARTIAL, "_shape": "array"}),
                 httpx.get(f"{base}/archive/crawl_runs.json", timeout=60)]
        for page in pages:
            assert page.status_code == 200, (page.url, page.status_code, page.text[:500])
            assert "locked" not in page.text, page.url
        assert pages[2].json() == [{"n": 0}], "an article without its URLs or page"
        return len(pages[0].json())

    return read


def test_readers_during_a_crawl(tmp_path: Path) -> None:
    generate_site(tmp_path / "site", PAGES)
    db = tmp_path / "archive.db"
    open_archive(db).close()  # an empty archive to serve before the crawl starts
    with serve_sample_site(root=tmp_path / "site") as site, serving(db) as base:
        seeds = write_seeds(site, tmp_path / "seeds")
        readers = [Reader("search", lambda: search(db)), Reader("export", lambda: export(db)),
                   Reader("datasette", datasette(base))]
        for reader in readers:
            reader.start()
        # Fewer parallel requests: a crawl long enough for many reads to overlap it.
        crawl = start_crawl(db, seeds, "CONCURRENT_REQUESTS_PER_DOMAIN=2")
        _, stderr = crawl.communicate(timeout=600)
        for reader in readers:
            reader.stop.set()
        for reader in readers:
            reader.join(timeout=300)
        final = datasette(base)()
    log = stderr.decode("utf-8", "replace")
    assert crawl.returncode == 0 and "locked" not in log, log[-3000:]
    assert final == PAGES
    for reader in readers:
        assert reader.errors == [], reader.errors[:3]
        assert reader.seen, f"{reader.name} never read"
    # Reads overlapped the writes: some saw the archive part-way through the crawl.
    midway = [n for reader in readers for n in reader.seen if 0 < n < PAGES]
    assert midway, {reader.name: reader.seen for reader in readers}
    assert {canonical(0), canonical(PAGES - 1)} <= {
        row["canonical_url"] for row in
        open_archive(db).query("select canonical_url from articles")}
    print({reader.name: len(reader.seen) for reader in readers}, "reads during the crawl")
