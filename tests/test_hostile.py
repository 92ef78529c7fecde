"""Hostile and broken responses: each gives a correct article or a `failures` row with the
URL and a readable reason; never a crash, never an unbounded memory spike; the rest of the
crawl completes.

One real crawl (`newsarchive crawl` in a child process, real Scrapy) of tests/hostile_site.py
on 127.0.0.1: truncated bodies, lying charsets, binary, empty, 30 MB pages, a gzip bomb
inflating to 2 GB, redirect loops and chains, redirects off the site and to loopback
addresses no seed names, 404/410/429/5xx with and without Retry-After, a slow drip, no
answer, 100k nested divs, scripts only; good pages in between.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostile_site import (
    BOMB_DECOMPRESSED,
    HUGE_PAGE,
    HostileSite,
    article_path,
    fixture,
    offsite_links,
    seeds_toml,
    serve_hostile_site,
)

from crawler.backoff import retry_after_seconds

DOWNLOAD_TIMEOUT = 3  # seconds; the drip and the silent server are cut at this
# Peak memory of the crawl process. A crawl of the sample site peaks near 200 MB; without
# the size limits the 2 GB gzip bomb alone would need 2 GB.
MEMORY_BOUND_MB = 600


@dataclass
class HostileRun:
    site: HostileSite
    db: Path
    returncode: int
    stderr: str
    max_rss_mb: float

    def query(self, sql: str, *params: object) -> list[sqlite3.Row]:
        connection = sqlite3.connect(self.db)
        connection.row_factory = sqlite3.Row
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> HostileRun:
    tmp = tmp_path_factory.mktemp("hostile")
    with serve_hostile_site() as site:
        seeds = tmp / "seeds"
        seeds.mkdir()
        (seeds / "hostile.toml").write_text(seeds_toml(site), "utf-8")
        db = tmp / "archive.db"
        command = [sys.executable, "-m", "newsarchive", "crawl", "--db", str(db),
                   "--seeds", str(seeds), "-s", "AUTOTHROTTLE_ENABLED=False",
                   "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16",
                   "-s", f"DOWNLOAD_TIMEOUT={DOWNLOAD_TIMEOUT}"]
        with open(tmp / "stderr.txt", "wb") as stderr:
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
            # wait4, not wait: the child's peak resident memory comes with its status.
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        return HostileRun(site, db, process.returncode,
                          (tmp / "stderr.txt").read_text("utf-8", "replace"),
                          usage.ru_maxrss / 1024)


def linked_cases(site: HostileSite) -> list[str]:
    """The cases the listing links to (the redirect chain's later hops are reached only by
    following it)."""
    return [name for name in site.cases if not name.startswith("chain") or name == "chain0"]


def test_the_crawl_completes_and_its_run_is_ok(hostile: HostileRun) -> None:
    assert hostile.returncode == 0, hostile.stderr[-3000:]
    [run] = hostile.query("select * from crawl_runs")
    assert run["status"] == "ok" and run["finish_reason"] == "finished"
    assert "Traceback" not in hostile.stderr.split("crawl into")[-1]


@pytest.mark.parametrize("name", [
    "good-reference", "good-pc2019", "gbk-as-utf8", "utf8-as-gbk", "slow-but-complete",
    "retry-after-then-ok", "redirect-on-site", "meta-refresh-on-site"])
def test_good_and_recoverable_pages_are_archived_correctly(hostile: HostileRun,
                                                           name: str) -> None:
    case = hostile.site.case(name)
    url = hostile.site.base_url + case.path
    rows = hostile.query("select a.* from articles a join article_urls u "
                         "on u.article_id = a.id where u.url = ?", url)
    assert len(rows) == 1, f"{name}: no article for {url}"
    assert case.fixture is not None
    _, expected = fixture(case.fixture)
    assert rows[0]["title"] == expected["title"], name
    assert rows[0]["text"] == expected["text"], name
    assert not hostile.query("select * from failures where url = ?", url)


def test_every_hostile_page_is_a_failure_with_its_url_and_reason(hostile: HostileRun) -> None:
    site = hostile.site
    failures = {row["url"]: row["reason"] for row in hostile.query("select * from failures")}
    checked = 0
    for name in linked_cases(site):
        case = site.case(name)
        if case.expect == "article":
            continue
        url = site.base_url + case.path
        assert url in failures, f"{name}: no failures row for {url}"
        assert failures[url].startswith(case.expect), (name, failures[url])
        checked += 1
    assert checked == 28  # hostile article responses (with the sitemap bomb: 29)
    # Nothing hostile was stored as an article.
    stored = {row["url"] for row in hostile.query("select url from article_urls")}
    assert not {site.base_url + site.case(n).path for n in linked_cases(site)
                if site.case(n).expect != "article"} & stored


def test_reasons_are_readable(hostile: HostileRun) -> None:
    site = hostile.site

    def reason(name: str) -> str:
        [row] = hostile.query("select reason from failures where url = ?",
                              site.base_url + site.case(name).path)
        return row["reason"]

    assert reason("huge-declared") == "too large: 30 MB announced, over the 4 MB limit"
    assert reason("huge-streamed") == "too large: more than 4 MB"
    assert reason("gzip-bomb") == "too large: more than 4 MB once decompressed"
    assert reason("drip-forever") == reason("no-answer") == f"timed out after {DOWNLOAD_TIMEOUT} s"
    assert reason("http-429-retry-after-long") == (
        "HTTP 429 (Retry-After: 3600 s, too long to wait this run)")
    assert reason("http-503-retry-after") == "HTTP 503 (Retry-After: 1 s)"
    assert reason("http-404") == "HTTP 404"
    assert reason("redirect-self") == "redirect loop: {0} → {0}".format(
        site.base_url + site.case("redirect-self").path)
    assert reason("redirect-other-domain") == (
        "redirect off-site to http://other.example/www.163.com/dy/article/STOLENXXXXXXXXXX.html"
        " (host not among the source's hosts)")
    assert reason("redirect-private-port") == (
        f"redirect off-site to {site.private_url}/admin (loopback address no seed names)")
    assert reason("redirect-file") == (
        "redirect off-site to file:///etc/passwd (scheme file: only http and https are "
        "fetched)")
    assert reason("chain0").startswith("too many redirects: 5 followed, the last to ")
    assert reason("meta-refresh-off-site") == (
        "redirect off-site to http://other.example/www.163.com/dy/article/REFRESHSTOLENXXX.html"
        " (host not among the source's hosts)")
    # A listing is bounded by DOWNLOAD_MAXSIZE, decompressed too.
    [bomb] = hostile.query("select reason from failures where url = ?",
                           site.base_url + "/sitemap-bomb.xml")
    assert bomb["reason"] == "too large: more than 16 MB once decompressed"


def test_links_off_the_site_are_refused_not_followed(hostile: HostileRun) -> None:
    failures = {row["url"]: row["reason"] for row in hostile.query("select * from failures")}
    for url, reason in offsite_links(hostile.site).items():
        assert failures[url].startswith(reason), (url, failures.get(url))
    assert article_path("linklocalhost") not in hostile.site.hits


def test_redirects_never_reach_an_address_no_seed_names(hostile: HostileRun) -> None:
    site = hostile.site
    # The "internal service" on another loopback port: not one request, not even robots.txt.
    assert site.private_hits == []
    # localhost is this very server: the page it redirected to was fetched once, directly
    # from the listing, never through localhost.
    assert site.hits[article_path("goodreference")] == 1
    # other.example was refused before any DNS lookup (the reason test above): had the
    # crawler tried, the reason would be "DNS lookup failed", there being no such host.
    assert "DNS lookup failed" not in hostile.stderr


def test_retries_follow_the_status_and_retry_after(hostile: HostileRun) -> None:
    hits = hostile.site.hits
    assert hits[article_path("http404")] == 1  # 404 and 410 are final
    assert hits[article_path("http429")] == 3  # retried twice (RETRY_TIMES)
    assert hits[article_path("http429retrylong")] == 1  # an hour: not retried this run
    assert hits[article_path("http503retry")] == 3  # waited 1 s before each retry
    assert hits[article_path("retryafterthenok")] == 2


def test_memory_stays_bounded(hostile: HostileRun) -> None:
    assert BOMB_DECOMPRESSED // 2**20 == 2048 and HUGE_PAGE // 2**20 == 30
    assert hostile.max_rss_mb < MEMORY_BOUND_MB, f"crawl peaked at {hostile.max_rss_mb:.0f} MB"


def test_retry_after_is_read_as_seconds_or_a_date() -> None:
    now = datetime(2025, 11, 14, 8, 0, tzinfo=UTC)
    assert retry_after_seconds(b"120") == 120
    assert retry_after_seconds("Fri, 14 Nov 2025 08:01:00 GMT", now) == 60
    assert retry_after_seconds("Fri, 14 Nov 2025 07:00:00 GMT", now) == 0  # in the past
    assert retry_after_seconds(b"soon") is None
    assert retry_after_seconds(None) is None
