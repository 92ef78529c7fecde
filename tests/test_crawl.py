"""End to end: real Scrapy crawls the sample site on 127.0.0.1 into a SQLite file."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from archive.pagecodec import decompress_page
from conftest import FIXTURES, article_cases, load_json, run_cli
from newsarchive.demo.demo import write_sample_seeds
from newsarchive.demo.samplesite import SampleSite

BOILERPLATE = ("相关推荐", "热点推荐", "特别声明", "分享至", "网易首页", "往期回顾")


def crawl(site: SampleSite, tmp_path: Path, *sources: str) -> tuple[Path, str]:
    seeds = write_sample_seeds(site.base_url, tmp_path / "seeds")
    db = tmp_path / "archive.db"
    result = run_cli("crawl", *sources, "--db", str(db), "--seeds", str(seeds),
                     "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0")
    assert result.returncode == 0, result.stderr[-3000:]
    return db, result.stderr


def rows(db: Path, sql: str) -> list[sqlite3.Row]:
    connection = sqlite3.connect(db)
    connection.row_factory = sqlite3.Row
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


ARTICLE_PATHS = {load_json(meta)["path"] for meta in FIXTURES.glob("*/*/response.json")
                 if meta.parent.parent.name != "site"}


def article_requests(site: SampleSite) -> list[str]:
    """Requests the site served for article pages (not listings, feeds or robots.txt)."""
    return [path for _, path in site.requests if path in ARTICLE_PATHS]


@pytest.fixture
def crawled(sample_site: SampleSite, tmp_path: Path) -> tuple[SampleSite, Path, str]:
    db, log = crawl(sample_site, tmp_path)
    return sample_site, db, log


def case_by_path() -> dict[str, Path]:
    return {load_json(case / "response.json")["path"]: case for case in article_cases()}


def test_every_sample_article_archived_once(crawled: tuple[SampleSite, Path, str]) -> None:
    _, db, _ = crawled
    expected = {load_json(case / "expected.json")["canonical_url"] for case in article_cases()}
    stored = [row["canonical_url"] for row in rows(db, "select canonical_url from articles")]
    assert sorted(stored) == sorted(expected)  # www and m copies of one article: one row


def test_no_boilerplate_in_any_body(crawled: tuple[SampleSite, Path, str]) -> None:
    _, db, _ = crawled
    for row in rows(db, "select url, text from articles"):
        for phrase in BOILERPLATE:
            assert phrase not in row["text"], (row["url"], phrase)


def test_rows_hold_what_extraction_gives(crawled: tuple[SampleSite, Path, str]) -> None:
    """The crawl stores exactly the extraction of each page (its quality against the
    ground truth is tested in test_extract.py and the quality floors)."""
    site, db, _ = crawled
    cases = case_by_path()
    for row in rows(db, "select * from articles"):
        case = cases[row["url"].removeprefix(site.base_url)]
        expected = load_json(case / "expected.json")
        for key in ("title", "text", "author", "publisher", "published_at", "lang",
                    "profile", "template"):
            assert row[key] == expected[key], (case.name, key)
        assert json.loads(row["images"]) == expected["images"], case.name
        assert row["source"] in ("demo-netease", "demo-sina", "demo-portals")
        assert row["content_hash"] and row["fetched_at"]


def test_reference_article_as_the_reference_says(crawled: tuple[SampleSite, Path, str]) -> None:
    _, db, _ = crawled
    truth = load_json(FIXTURES / "netease/dy-post2020-reference/truth.json")
    [row] = rows(db, "select * from articles where canonical_url like '%KEK0A3PK0527D7QO%'")
    for key in ("title", "author", "publisher", "published_at", "text"):
        assert row[key] == truth[key], key


def test_raw_pages_kept_compressed_and_urls_linked(
        crawled: tuple[SampleSite, Path, str]) -> None:
    site, db, _ = crawled
    pages = rows(db, "select url, body, codec, status, headers, article_id from pages")
    assert pages
    connection = sqlite3.connect(db)
    for page in pages:
        path = page["url"].removeprefix(site.base_url)
        route = site.route(path)
        assert route is not None
        assert page["codec"] == "zstd"  # the sample site's few pages train no dictionary
        assert decompress_page(connection, dict(page)) == route.body_file.read_bytes()
        assert json.loads(page["headers"])
    www_and_m = rows(db, """select article_id, count(*) as n from article_urls
                            where url like '%/www.163.com/news/article/%'
                               or url like '%/m.163.com/news/article/%'
                            group by article_id""")
    assert [row["n"] for row in www_and_m if row["n"] >= 2], "www and m URLs share one article"


def test_failures_recorded_with_url_and_reason(crawled: tuple[SampleSite, Path, str]) -> None:
    _, db, _ = crawled
    failures = {row["url"].split("/", 3)[-1]: row["reason"]
                for row in rows(db, "select url, reason from failures")}
    not_found = load_json(FIXTURES / "site/not-found/response.json")["path"].lstrip("/")
    not_article = load_json(FIXTURES / "site/not-article/response.json")["path"].lstrip("/")
    assert failures[not_found] == "HTTP 404"
    assert failures[not_article].startswith("not an article")


def test_run_recorded_and_summary_printed(crawled: tuple[SampleSite, Path, str]) -> None:
    _, db, log = crawled
    runs = rows(db, "select * from crawl_runs order by id")
    assert {run["source"] for run in runs} == {"demo-netease", "demo-sina", "demo-portals"}
    assert all(run["status"] == "ok" and run["finished_at"] for run in runs)
    total_new = sum(run["articles_new"] for run in runs)
    assert total_new == len(rows(db, "select id from articles where duplicate_of is null"))
    assert sum(run["failures"] for run in runs) >= 2
    assert "demo-netease" in log and "ok" in log


def test_second_run_fetches_no_article_again(sample_site: SampleSite, tmp_path: Path) -> None:
    db, _ = crawl(sample_site, tmp_path)
    first = len(article_requests(sample_site))
    sample_site.requests.clear()
    crawl(sample_site, tmp_path)
    refetched = article_requests(sample_site)
    assert first > 0 and refetched == []
    runs = rows(db, "select articles_new from crawl_runs order by id")
    assert [run["articles_new"] for run in runs[-2:]] == [0, 0]


def test_one_source_by_name(sample_site: SampleSite, tmp_path: Path) -> None:
    db, _ = crawl(sample_site, tmp_path, "demo-sina")
    assert {row["source"] for row in rows(db, "select source from crawl_runs")} == {"demo-sina"}


def test_unknown_source_and_bad_seeds_stop_with_a_clear_message(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "bad.toml").write_text('[[source]]\nname = "x"\nallow = ["a"]\nstart_url = []\n')
    result = run_cli("crawl", "--seeds", str(seeds), "--db", str(tmp_path / "a.db"))
    assert result.returncode != 0
    assert "bad.toml:4" in result.stderr and "'start_url'" in result.stderr
    (seeds / "bad.toml").write_text('[[source]]\nname = "x"\nallow = ["a"]\n'
                                    'start_urls = ["https://example.invalid/"]\n')
    result = run_cli("crawl", "nope", "--seeds", str(seeds), "--db", str(tmp_path / "a.db"))
    assert result.returncode != 0 and "unknown source 'nope'" in result.stderr


def test_the_scrapy_way_from_the_repo_root(sample_site: SampleSite, tmp_path: Path) -> None:
    """`scrapy crawl news -a source=NAME` runs the same crawl with crawler/settings.py."""
    seeds = write_sample_seeds(sample_site.base_url, tmp_path / "seeds")
    db = tmp_path / "archive.db"
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "news", "-a", "source=demo-netease",
         "-s", f"NEWSARCHIVE_SEEDS_DIR={seeds}", "-s", f"NEWSARCHIVE_DB={db}",
         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0"],
        cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=300,
        check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    [run] = rows(db, "select * from crawl_runs")
    assert run["source"] == "demo-netease" and run["status"] == "ok"
    assert run["articles_new"] > 0
    originals = rows(db, "select id from articles where duplicate_of is null")
    assert len(originals) == run["articles_new"]
