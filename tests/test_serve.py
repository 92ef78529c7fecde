"""`newsarchive serve`: datasette on the archive, read-only, with metadata and Chinese search.

Most checks use datasette's in-process client, set up the way
`datasette archive.db --metadata archive/metadata.yml` is; one starts the real
`newsarchive serve` and talks to it over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from browse_data import (
    REFERENCE_TITLE,
    build_archive,
    near_copy,
    other_articles,
    serving,
)
from click.testing import CliRunner
from datasette.app import Datasette

from archive import open_archive
from archive.datasette_plugin import METADATA_FILE
from archive.store import ArchiveWriter, FetchedPage
from newsarchive.cli import cli

MARATHON_TITLE = other_articles()["marathon"][1]["title"]
TESLA_TITLE = other_articles()["tesla"][1]["title"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("serve") / "archive.db"
    build_archive(path, extra={"repost": ("netease-dy", near_copy())})
    # A revisit that finds the marathon story edited: one row in article_versions.
    db = open_archive(path)
    source, article = other_articles()["marathon"]
    edited = {**article, "title": article["title"] + "(更新)"}
    page = FetchedPage(url=article["url"], final_url=article["url"], status=200, headers={},
                       body=b"<html></html>", fetched_at="2025-11-16T12:00:00+00:00")
    assert ArchiveWriter(db).store(None, source, page, edited, revisit=True) == "revised"
    db.close()
    return path


def fetch(path: Path, *urls: str, metadata: bool = True) -> list[httpx.Response]:
    """GET each URL from datasette in-process, as `datasette PATH --metadata ...` would serve."""
    meta = yaml.safe_load(METADATA_FILE.read_text("utf-8")) if metadata else None

    async def run() -> list[httpx.Response]:
        datasette = Datasette([str(path)], metadata=meta)
        return [await datasette.client.get(url) for url in urls]

    return asyncio.run(run())


def get_json(path: Path, url: str, **kwargs: Any) -> Any:
    (response,) = fetch(path, url, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def search_titles(path: Path, words: str, db_name: str = "archive", **kwargs: Any) -> list[str]:
    rows = get_json(path, f"/{db_name}/articles.json?_search={words}&_shape=array&_col=title",
                    **kwargs)
    return [row["title"] for row in rows]


def test_search_box_segments_chinese_like_the_index(archive: Path) -> None:
    assert search_titles(archive, "乌镇") == ["桐乡:十年蝶变", REFERENCE_TITLE]
    assert search_titles(archive, "智能网联汽车") == ["桐乡:十年蝶变", REFERENCE_TITLE]
    assert search_titles(archive, "Gigafactory") == [TESLA_TITLE]
    assert search_titles(archive, "马拉松 两万名") == [MARATHON_TITLE + "(更新)"]
    assert search_titles(archive, "镇互") == []
    # Per-column search goes through the same segmentation.
    rows = get_json(archive, "/archive/articles.json?_search_title=桐乡&_shape=array&_col=title")
    assert {row["title"] for row in rows} == {REFERENCE_TITLE, MARATHON_TITLE + "(更新)",
                                              "桐乡:十年蝶变"}


def test_any_archive_file_name_gets_the_metadata_and_search(archive: Path,
                                                            tmp_path: Path) -> None:
    news = tmp_path / "news.db"
    shutil.copy(archive, news)
    # No --metadata at all: the plugin applies metadata.yml to any archive.
    assert search_titles(news, "乌镇", db_name="news", metadata=False) == [
        "桐乡:十年蝶变", REFERENCE_TITLE]
    (page,) = fetch(news, "/news/articles", metadata=False)
    assert "One row per article" in page.text
    assert get_json(news, "/-/metadata.json", metadata=False)["title"] == "newsarchive"


def test_articles_table_sorts_newest_first_and_facets_by_beijing_day(archive: Path) -> None:
    data = get_json(archive, "/archive/articles.json?_shape=objects")
    dates = [row["published_at"] for row in data["rows"]]
    assert dates == [*sorted([d for d in dates if d], reverse=True), None]
    facets = data["facet_results"]
    assert set(facets) >= {"source", "site", "author", "publisher", "published_at"}
    days = {item["value"]: item["count"] for item in facets["published_at"]["results"]}
    # 06:00 on the 16th in Beijing is the 15th in UTC; the day facet says the 16th.
    assert days == {"2025-11-16": 1, "2025-11-15": 1, "2025-11-14": 2}
    chosen = next(item for item in facets["published_at"]["results"]
                  if item["value"] == "2025-11-16")
    toggle = chosen["toggle_url"].replace("http://localhost", "")
    rows = get_json(archive, toggle.replace("_shape=objects", "_shape=array"))
    assert [row["title"] for row in rows] == [MARATHON_TITLE + "(更新)"]


def test_every_table_and_column_is_described(tmp_path: Path) -> None:
    metadata = yaml.safe_load(METADATA_FILE.read_text("utf-8"))
    assert metadata["title"] and metadata["description"]
    tables = metadata["databases"]["archive"]["tables"]
    db = open_archive(tmp_path / "archive.db")  # the schema as the migrations make it today
    for name in db.table_names():
        if name.startswith("articles_fts_"):
            continue  # FTS5's own shadow tables, hidden by datasette
        assert tables.get(name, {}).get("description"), (
            f"describe table {name} in archive/metadata.yml")
    for name in ("articles", "article_urls", "pages", "crawl_runs", "failures"):
        missing = [c.name for c in db[name].columns
                   if c.name not in tables[name].get("columns", {})]
        assert not missing, f"describe {name} columns {missing} in archive/metadata.yml"


def test_article_table_row_shows_body_lines_and_links_the_original(archive: Path) -> None:
    # The article's own page is the reader (tests/test_reader.py); its row as a table:
    row_page, css, table_page = fetch(archive, "/archive/articles?id=1", "/-/newsarchive.css",
                                      "/archive/articles")
    assert 'href="https://www.163.com/dy/article/KEK0A3PK0527D7QO.html"' in row_page.text
    assert "/-/newsarchive.css" in row_page.text
    assert "td.col-text" in css.text and "white-space: pre-wrap" in css.text
    # Each paragraph on its own line in the cell (pre-wrap shows the newlines).
    assert "隆重举行。\n本次活动由世界互联网大会指导" in row_page.text
    assert 'name="_search"' in table_page.text


def test_canned_queries(archive: Path) -> None:
    def rows(name: str, query: str = "") -> list[dict[str, Any]]:
        return get_json(archive, f"/archive/{name}.json?_shape=array{query}")

    hits = rows("search", "&q=乌镇")
    assert [hit["title"] for hit in hits] == ["桐乡:十年蝶变", REFERENCE_TITLE]
    assert "发布活动暨\ue000乌镇\ue001互联网" in hits[1]["snippet"]
    (html,) = fetch(archive, "/archive/search?q=乌镇")
    assert "<mark>乌镇</mark>" in html.text
    assert rows("search", "&q=") == []
    assert rows("latest")[0]["title"] == MARATHON_TITLE + "(更新)"
    per_day = rows("articles_per_source_per_day")
    assert {"day": "2025-11-14", "source": "netease-dy", "articles": 2} in per_day
    clusters = rows("duplicate_clusters")
    assert [(c["title"], c["duplicates"]) for c in clusters] == [(REFERENCE_TITLE, 1)]
    assert rows("content_hash_groups") == []  # exact copies are folded into url_aliases
    failures = rows("last_run_failures")
    assert [f["url"] for f in failures] == ["https://www.163.com/news/article/GONE000001.html"]
    assert {run["source"] for run in rows("crawl_runs")} == {
        "netease-dy", "netease-tech", "netease-news"}
    versions = rows("article_versions", "&article_id=3")
    assert [(v["version"], v["title"], v["current_version"]) for v in versions] == [
        (1, MARATHON_TITLE, 2)]
    for name in ("url_aliases", "content_hash_groups"):
        (response,) = fetch(archive, f"/archive/{name}")
        assert response.status_code == 200


def test_nothing_can_be_written(archive: Path) -> None:
    before = get_json(archive, "/archive.json?sql=select+count(*)+as+n+from+articles&_shape=array")
    attempts = [
        "delete from articles",
        "update articles set title = 'x'",
        "insert into failures (url, reason, at) values ('u', 'r', 'a')",
        # passes datasette's SELECT check; refused by the read-only connection
        "with x as (select 1) delete from articles",
        "pragma journal_mode = delete",
    ]
    responses = fetch(archive, *[f"/archive.json?sql={httpx.QueryParams({'': s})['']}"
                                 for s in attempts])
    for sql, response in zip(attempts, responses, strict=True):
        assert response.status_code in (400, 403, 500), (sql, response.status_code)
        assert not response.json().get("ok", True), sql
    assert responses[3].json()["error"].startswith("attempt to write a readonly database")
    after = get_json(archive, "/archive.json?sql=select+count(*)+as+n+from+articles&_shape=array")
    assert after == before
    (upload,) = fetch(archive, "/-/upload-csvs")
    assert upload.status_code == 404


def test_newsarchive_serve_over_http(archive: Path, tmp_path: Path) -> None:
    temp = tmp_path / "temp"  # the server's TMPDIR
    temp.mkdir()
    # Generous timeouts: the first search loads jieba's dictionary, on a loaded machine.
    with serving(archive, env={"TMPDIR": str(temp)}) as base, \
            httpx.Client(base_url=base, timeout=120) as client:
        rows = client.get("/archive/articles.json",
                          params={"_search": "乌镇", "_shape": "array", "_col": "title"}).json()
        assert [row["title"] for row in rows] == ["桐乡:十年蝶变", REFERENCE_TITLE]
        assert client.get("/-/metadata.json").json()["title"] == "newsarchive"
        plugins = client.get("/-/plugins.json").json()
        assert "newsarchive" in [p["name"] for p in plugins]
        refused = client.get("/archive.json", params={"sql": "delete from articles"})
        assert refused.status_code == 400
    # Stopped with SIGTERM: nothing left behind (its metadata held the access rules).
    assert list(temp.iterdir()) == []


def test_serve_needs_an_archive(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "missing.db")])
    assert result.exit_code == 1 and "no archive at" in result.output


def test_serve_help_has_a_runnable_example() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert "newsarchive serve --db news.db --port 8080" in result.output
    assert "read-only" in result.output
