"""The archive: migrations, WAL, one transaction per page, URL and content identity."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive import open_archive, resolve_db_path
from archive.migrations import MIGRATIONS, apply_migrations
from archive.pagecodec import decompress_page
from archive.store import ArchiveWriter, content_hash
from conftest import make_article, make_page


@pytest.fixture
def writer(tmp_path: Path) -> ArchiveWriter:
    return ArchiveWriter(open_archive(tmp_path / "a.db"))


def test_schema_wal_and_migrations_recorded(tmp_path: Path) -> None:
    db = open_archive(tmp_path / "a.db")
    assert {"articles", "article_urls", "pages", "crawl_runs", "failures"} <= set(db.table_names())
    assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
    names = [row["name"] for row in db["_migrations"].rows]
    assert names == [m.__name__ for m in MIGRATIONS]
    assert apply_migrations(db) == []  # idempotent


def test_db_path_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NEWSARCHIVE_DB", raising=False)
    assert resolve_db_path(None) == Path("archive.db")
    monkeypatch.setenv("NEWSARCHIVE_DB", str(tmp_path / "env.db"))
    assert resolve_db_path(None) == tmp_path / "env.db"
    assert resolve_db_path(tmp_path / "flag.db") == tmp_path / "flag.db"


def test_store_new_article_with_page_and_urls(writer: ArchiveWriter) -> None:
    run = writer.start_run("s")
    url = "https://www.163.com/dy/article/G33O1QTA05372UZS.html"
    assert writer.store(run, "s", make_page(url), make_article(url)) == "new"
    [article] = writer.db["articles"].rows
    assert article["source"] == "s" and article["content_hash"] == content_hash(article["text"])
    [page] = writer.db["pages"].rows
    assert decompress_page(writer.db, page) == b"<html>raw</html>"
    assert page["article_id"] == article["id"] and page["run_id"] == run
    assert writer.is_archived(url)
    assert writer.finish_run(run, "ok", "finished")["articles_new"] == 1


def test_same_canonical_url_is_one_row(writer: ArchiveWriter) -> None:
    canonical = "https://www.163.com/news/article/G33O1QTA05372UZS.html"
    mobile = "https://m.163.com/news/article/G33O1QTA05372UZS.html"
    writer.store(None, "s", make_page(canonical), make_article(canonical))
    outcome = writer.store(None, "s", make_page(mobile),
                           make_article(mobile, canonical_url=canonical, text="其他文本"))
    assert outcome == "duplicate"
    assert writer.db["articles"].count == 1
    assert {r["url"] for r in writer.db["article_urls"].rows} == {canonical, mobile}


def test_same_text_under_another_url_is_a_link(writer: ArchiveWriter) -> None:
    a, b = "https://x.test/a.html", "https://y.test/b.html"
    writer.store(None, "s", make_page(a), make_article(a, text="同一  篇\n文章"))
    outcome = writer.store(None, "s", make_page(b), make_article(b, text="同一 篇 文章"))
    assert outcome == "duplicate"
    assert writer.db["articles"].count == 1
    assert writer.is_archived(b)


def test_non_article_page_is_kept_without_article(writer: ArchiveWriter) -> None:
    url = "https://x.test/deleted.html"
    assert writer.store(None, "s", make_page(url), None) == "not-article"
    assert writer.db["pages"].count == 1 and writer.db["articles"].count == 0
    assert not writer.is_archived(url)


def test_failed_write_leaves_nothing_behind(writer: ArchiveWriter) -> None:
    url = "https://x.test/a.html"
    broken = make_article(url)
    broken["text"] = None  # type: ignore[typeddict-item]  # violates NOT NULL
    with pytest.raises(Exception):  # noqa: B017 (sqlite's IntegrityError or TypeError)
        writer.store(None, "s", make_page(url), broken)
    assert writer.db["pages"].count == 0 and writer.db["article_urls"].count == 0


def test_run_counts_and_failures(writer: ArchiveWriter) -> None:
    run = writer.start_run("s")
    writer.record_failure(run, "https://x.test/404", "HTTP 404", 404)
    counts = writer.finish_run(run, "ok", "finished")
    assert counts == {"pages_fetched": 0, "failures": 1, "articles_new": 0, "duplicates": 0,
                      "revised": 0, "removed": 0, "listings_read": 0, "not_modified": 0}
    row = writer.db["crawl_runs"].get(run)
    assert row["status"] == "ok" and row["finished_at"]
