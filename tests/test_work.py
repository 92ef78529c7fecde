"""The extraction worker's share of a page (crawler/work.py) and the archive taking it
as computed: the same rows and search index as when the archive computes it itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from archive import open_archive
from archive.fts import FTS_TABLE, search, segment, to_match
from archive.pagecodec import compress_page, decompress_page
from archive.store import ArchiveWriter, FetchedPage
from conftest import make_article, make_page
from crawler.pool import PRELOAD, run_extraction, start_extraction_pool
from crawler.work import extract_and_fingerprint
from pipelines.dedup import fingerprint

FIXTURE = Path(__file__).parent / "fixtures" / "netease" / "dy-post2020-reference"
URL = "https://www.163.com/dy/article/KEK0A3PK0527D7QO.html"


def test_worker_returns_article_fingerprint_segments_and_compressed_page() -> None:
    body = (FIXTURE / "page.html").read_bytes()
    done = extract_and_fingerprint(body, URL, "text/html; charset=utf-8", "netease",
                                   "2025-11-14T09:30:00+08:00")
    assert done.article is not None and done.article["title"]
    assert done.fingerprint == fingerprint(done.article["text"])
    assert done.segmented == (segment(done.article["title"]), segment(done.article["text"]))
    assert done.body_codec == "zstd"  # no archive given: no dictionary
    assert decompress_page(None, (done.body_blob, done.body_codec)) == body


def test_worker_on_a_page_without_article() -> None:
    body = b"<html><body><p>404</p></body></html>"
    done = extract_and_fingerprint(body, URL, "text/html", "netease", "2025-11-14T09:30:00Z")
    assert (done.article, done.fingerprint, done.segmented) == (None, None, None)
    assert decompress_page(None, (done.body_blob, done.body_codec)) == body


def _snapshot(path: Path) -> tuple:
    db = open_archive(path)
    # The index keeps no text (contentless): compare what each word finds.
    words = ["乌镇", "互联网", "小镇", "第二段", "智能网联汽车", "汽车", "新标题", "标题"]
    return ([db.execute(f"select rowid from {FTS_TABLE} where {FTS_TABLE} match ? "
                        "order by rowid", [to_match(w)]).fetchall() for w in words],
            db.execute("select id, canonical_url, title, text, duplicate_of from articles "
                       "order by id").fetchall(),
            db.execute("select url, article_id from article_urls order by url").fetchall(),
            db.execute("select id, url, body, codec, body_size, article_id from pages "
                       "order by id").fetchall())


def _store_all(writer: ArchiveWriter, precomputed: bool) -> list[str]:
    a = "https://www.163.com/dy/article/AAAAAAAAAAAAAAAA.html"
    b = "https://www.163.com/dy/article/BBBBBBBBBBBBBBBB.html"
    steps: list[tuple[FetchedPage, dict, bool]] = [
        (make_page(a, b"<html>a</html>"), make_article(a, text="乌镇互联网小镇。\n第二段。"),
         False),
        (make_page(a), make_article(a, text="乌镇互联网小镇。\n第二段。"), False),  # duplicate
        (make_page(a), make_article(a, text="乌镇互联网小镇。\n第二段。"), True),  # unchanged
        (make_page(a), make_article(a, title="新标题", text="智能网联汽车。"), True),  # revised
        (make_page(b), make_article(b, text="智能网联汽车。"), False),  # same text: duplicate
    ]
    outcomes = []
    for page, article, revisit in steps:
        extra = {}
        if precomputed:
            extra = {"segmented": (segment(article["title"]), segment(article["text"])),
                     **dict(zip(("body_blob", "body_codec"),
                                compress_page(None, None, page.body), strict=True))}
        outcomes.append(writer.store(None, "s", page, article, revisit=revisit,
                                     fingerprint=fingerprint(article["text"]), **extra))
    return outcomes


def test_precomputed_segments_and_body_give_the_same_archive(tmp_path: Path) -> None:
    here = ArchiveWriter(open_archive(tmp_path / "here.db"))
    there = ArchiveWriter(open_archive(tmp_path / "there.db"))
    assert _store_all(here, False) == _store_all(there, True) == [
        "new", "duplicate", "unchanged", "revised", "duplicate"]
    assert _snapshot(tmp_path / "here.db") == _snapshot(tmp_path / "there.db")
    hits = search(open_archive(tmp_path / "there.db"), "汽车")
    assert [hit["title"] for hit in hits] == ["新标题"]


def test_worker_segments_the_stored_text_a_revisit_replaces() -> None:
    body = (FIXTURE / "page.html").read_bytes()
    done = extract_and_fingerprint(body, URL, "text/html; charset=utf-8", "netease",
                                   "2025-11-14T09:30:00+08:00", None, None,
                                   ("旧标题", "乌镇互联网小镇。"))
    assert done.previous_segmented == (segment("旧标题"), segment("乌镇互联网小镇。"))


def test_a_revision_with_the_workers_segmentation_segments_nothing_here(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from archive import fts

    db = open_archive(tmp_path / "archive.db")
    writer = ArchiveWriter(db)
    url = "https://www.163.com/dy/article/AAAAAAAAAAAAAAAA.html"
    first = make_article(url, text="乌镇互联网小镇。")
    second = make_article(url, text="智能网联汽车。")

    def given(article: dict) -> tuple[str, str]:
        return segment(article["title"]), segment(article["text"])

    writer.store(None, "s", make_page(url), first, segmented=given(first))
    before = ((first["title"], first["text"]), given(first))
    now = given(second)

    def no_segmenting(text: str | None) -> str:
        raise AssertionError("segmented in the crawl process")

    monkeypatch.setattr(fts, "segment", no_segmenting)
    assert writer.store(None, "s", make_page(url), second, revisit=True, segmented=now,
                        previous_segmented=before) == "revised"
    monkeypatch.undo()
    assert [hit["title"] for hit in search(db, "汽车")] == ["标题"]
    assert search(db, "乌镇") == []


def test_the_forkserver_preload_imports() -> None:
    # multiprocessing skips a preload module that fails to import, without a word: the
    # workers would then each load the extraction stack themselves, sharing nothing.
    for name in PRELOAD:
        subprocess.run([sys.executable, "-c", f"import {name}"], check=True,
                       cwd=Path(__file__).parents[1])


def test_pool_started_in_the_background_extracts() -> None:
    started = start_extraction_pool(1)
    assert start_extraction_pool(1) is started  # one start, whoever asks
    pool = started.result(timeout=300)
    body = (FIXTURE / "page.html").read_bytes()
    done = pool.submit(run_extraction, body, URL, "text/html; charset=utf-8", "netease",
                       "2025-11-14T09:30:00+08:00").result(timeout=300)
    assert done[0] is not None and done[0]["title"]
    assert done[2] == (segment(done[0]["title"]), segment(done[0]["text"]))
