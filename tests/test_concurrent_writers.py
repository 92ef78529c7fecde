"""Several processes writing one archive at once wait their turn: no "database is locked"."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from archive import open_archive
from archive.store import ArchiveWriter
from conftest import make_article, make_page


def write_many(db: str, worker: int, count: int) -> None:
    writer = ArchiveWriter(open_archive(db))
    run = writer.start_run(f"w{worker}")
    for n in range(count):
        url = f"https://x.test/{worker}/{n}.html"
        writer.store(run, f"w{worker}", make_page(url),
                     make_article(url, text=f"工人{worker}的第{n}篇文章。" * 5))
        writer.record_failure(run, url + "?x", "HTTP 404", 404)
    writer.finish_run(run, "ok", "finished")


def test_four_writers_at_once_lose_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "a.db")
    context = multiprocessing.get_context("spawn")  # fresh processes, each opening the file
    workers = [context.Process(target=write_many, args=(db, w, 40)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
    assert [p.exitcode for p in workers] == [0, 0, 0, 0]
    archive = open_archive(db)
    assert archive["articles"].count == 160 and archive["failures"].count == 160
    assert [r["status"] for r in archive["crawl_runs"].rows] == ["ok"] * 4
    assert archive.execute("pragma integrity_check").fetchone()[0] == "ok"
