"""Incremental monitoring end to end: one row per story, conditional listings, revisions.

Each test crawls the sample site twice with real Scrapy in child processes, against the
same server, changing the site between the runs.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from conftest import FIXTURES, load_json, run_cli
from newsarchive.demo.demo import write_sample_seeds
from newsarchive.demo.samplesite import Route, SampleSite

REFERENCE = load_json(FIXTURES / "netease/dy-post2020-reference/response.json")["path"]
NEWS = load_json(FIXTURES / "netease/news-post2020/response.json")["path"]
MOBILE = load_json(FIXTURES / "netease/mobile-2025/response.json")["path"]
REPOST = load_json(FIXTURES / "netease/dy-repost/response.json")["path"]


def crawl(site: SampleSite, tmp_path: Path) -> Path:
    seeds = write_sample_seeds(site.base_url, tmp_path / "seeds")
    db = tmp_path / "archive.db"
    result = run_cli("crawl", "demo-netease", "--db", str(db), "--seeds", str(seeds),
                     "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0")
    assert result.returncode == 0, result.stderr[-3000:]
    return db


def query(db: Path, sql: str, *params: object) -> list[sqlite3.Row]:
    connection = sqlite3.connect(db)
    connection.row_factory = sqlite3.Row
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def article_id(db: Path, site: SampleSite, path: str) -> int:
    [row] = query(db, "select article_id from article_urls where url = ?", site.base_url + path)
    return row["article_id"]


def make_due(db: Path) -> None:
    """Pretend the revisit delay has passed."""
    connection = sqlite3.connect(db)
    with connection:
        connection.execute("update articles set next_check_at = '2000-01-01T00:00:00+00:00' "
                           "where status = 'live'")
    connection.close()


def test_www_and_mobile_urls_are_one_row_with_two_urls(sample_site: SampleSite,
                                                       tmp_path: Path) -> None:
    db = crawl(sample_site, tmp_path)
    assert article_id(db, sample_site, NEWS) == article_id(db, sample_site, MOBILE)
    urls = query(db, "select url from article_urls where article_id = ?",
                 article_id(db, sample_site, NEWS))
    assert {sample_site.base_url + NEWS, sample_site.base_url + MOBILE} <= {r["url"] for r in urls}


def test_repost_under_another_account_points_at_the_first_seen(sample_site: SampleSite,
                                                               tmp_path: Path) -> None:
    db = crawl(sample_site, tmp_path)
    reference, repost = (article_id(db, sample_site, p) for p in (REFERENCE, REPOST))
    assert reference != repost
    rows = {r["id"]: r["duplicate_of"] for r in
            query(db, "select id, duplicate_of from articles where id in (?, ?)",
                  reference, repost)}
    first, second = sorted((reference, repost))  # whichever was stored first is the original
    assert rows == {first: None, second: first}


def test_second_run_sends_conditional_requests_and_fetches_no_article(
        sample_site: SampleSite, tmp_path: Path) -> None:
    db = crawl(sample_site, tmp_path)
    articles_before = query(db, "select count(*) as n from articles")[0]["n"]
    sample_site.requests.clear()
    crawl(sample_site, tmp_path)
    served = [path for _, path in sample_site.requests]
    article_paths = {load_json(p)["path"] for p in FIXTURES.glob("netease/*/response.json")}
    assert not article_paths & set(served)
    [last] = query(db, "select * from crawl_runs order by id desc limit 1")
    assert last["not_modified"] >= 3 and last["articles_new"] == 0 and last["status"] == "ok"
    assert "/news.163.com/domestic/index_02.html" not in served  # paging stopped at page 1
    assert query(db, "select count(*) as n from articles")[0]["n"] == articles_before


def test_edited_article_gets_a_new_version_with_the_diff(sample_site: SampleSite,
                                                         tmp_path: Path) -> None:
    db = crawl(sample_site, tmp_path)
    original = sample_site.routes[REFERENCE]
    edited = tmp_path / "edited.html"
    html = original.body_file.read_text("utf-8")
    edited.write_text(html.replace("隆重举行", "举行,约300人参加"), "utf-8")
    sample_site.overrides[REFERENCE] = Route(edited, 200, original.headers)
    make_due(db)
    crawl(sample_site, tmp_path)
    reference = article_id(db, sample_site, REFERENCE)
    [article] = query(db, "select * from articles where id = ?", reference)
    assert article["version"] == 2 and "约300人参加" in article["text"]
    [version] = query(db, "select * from article_versions where article_id = ?", reference)
    assert json.loads(version["changed_fields"]) == ["text"]
    assert "隆重举行" in version["text"] and "+" in version["text_diff"]
    assert "约300人参加" in version["text_diff"]
    [last] = query(db, "select revised from crawl_runs order by id desc limit 1")
    assert last["revised"] == 1


def test_removed_article_is_marked_removed(sample_site: SampleSite, tmp_path: Path) -> None:
    db = crawl(sample_site, tmp_path)
    original = sample_site.routes[NEWS]
    sample_site.overrides[NEWS] = Route(original.body_file, 404, original.headers)
    sample_site.overrides[MOBILE] = Route(original.body_file, 410, original.headers)
    make_due(db)
    crawl(sample_site, tmp_path)
    [article] = query(db, "select * from articles where id = ?",
                      article_id(db, sample_site, NEWS))
    assert article["status"] == "removed" and article["removed_at"] and article["text"]
    others = query(db, "select count(*) as n from articles where status = 'live'")[0]["n"]
    assert others >= 5


def test_an_article_now_redirecting_off_site_or_home_is_removed(sample_site: SampleSite,
                                                                 tmp_path: Path) -> None:
    db = crawl(sample_site, tmp_path)
    original = sample_site.routes[NEWS]
    # The www and m.163.com URLs are one article, revisited at whichever was stored first
    # (the crawl fetches both at once): both now redirect off the site.
    revisited = query(db, "select url from articles where id = ?",
                      article_id(db, sample_site, NEWS))[0]["url"]
    for path in (NEWS, MOBILE):
        sample_site.overrides[path] = Route(original.body_file, 302,
                                            {"Location": "https://other.example/gone"})
    sample_site.overrides[REPOST] = Route(original.body_file, 301,
                                          {"Location": sample_site.base_url + "/"})
    sample_site.overrides["/"] = Route(original.body_file, 200, original.headers)  # home
    make_due(db)
    crawl(sample_site, tmp_path)
    reasons = {row["url"]: row["reason"] for row in query(db, "select url, reason from failures")}
    gone = {row["url"] for row in query(db, "select u.url from articles a join article_urls u "
                                            "on u.article_id = a.id where a.status = 'removed'")}
    assert sample_site.base_url + NEWS in gone and sample_site.base_url + REPOST in gone
    assert reasons[revisited] == "removed: redirected off-site to https://other.example/gone"
    assert reasons[sample_site.base_url + REPOST] == (
        f"removed: redirected away from the article to {sample_site.base_url}/")
