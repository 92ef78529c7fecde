"""Reading the archive in datasette (newsarchive/web): the article reader, the home page,
search results, trends, the raw page download, and serving beyond localhost.

Pages are fetched with datasette's in-process client, set up as `newsarchive serve` sets
it up; the access checks start the real `newsarchive serve` on 127.0.0.1. What a browser
draws (the charts) is in tests/test_browser.py.
"""

from __future__ import annotations

import asyncio
import json
import re
import select
import shutil
import sqlite3
import subprocess
import sys
import time
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from browse_data import (
    REFERENCE_DIR,
    REFERENCE_TITLE,
    build_archive,
    free_port,
    near_copy,
    other_articles,
    revise_marathon,
    serving,
)
from click.testing import CliRunner
from datasette.app import Datasette

from archive import open_archive
from archive.datasette_plugin import archive_metadata
from archive.fts import HL_CLOSE, HL_OPEN
from archive.fts import search as fts_search
from newsarchive.cli import cli
from newsarchive.web.access import AccessError, is_loopback, locked_metadata
from pipelines.types import Article

TRUTH = json.loads((REFERENCE_DIR / "truth.json").read_text("utf-8"))
MARATHON_TITLE = other_articles()["marathon"][1]["title"]
HOSTILE_URL = "https://www.163.com/news/article/HOSTILE01.html"


def hostile_article() -> Article:
    """Stored text that is markup, and a javascript: image URL."""
    return Article(url=HOSTILE_URL, canonical_url=HOSTILE_URL,
                   title="<script>alert('title')</script>标题", author="<b>作者</b>",
                   publisher=None, published_at="2025-11-10T08:00:00+00:00",
                   text="第一段<img src=x onerror=alert(1)>\n第二段 & </p><script>x()</script>",
                   images=[{"url": "javascript:alert(1)", "caption": "<i>bad</i>"},
                           {"url": "https://nimg.ws.126.net/ok.jpg", "caption": "图 <说明>"}],
                   lang="zh", site="163.com", profile="netease", template="post2020")


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("reader") / "archive.db"
    ids = build_archive(path, extracted=True, extra={
        "repost": ("netease-dy", near_copy()), "hostile": ("netease-news", hostile_article())})
    revise_marathon(path)
    return path, ids


def fetch(path: Path, *urls: str) -> list[httpx.Response]:
    """GET each URL in-process, as `newsarchive serve` sets datasette up."""

    async def run() -> list[httpx.Response]:
        datasette = Datasette([str(path)], metadata=archive_metadata())
        await datasette.invoke_startup()
        return [await datasette.client.get(url) for url in urls]

    return asyncio.run(run())


def page(path: Path, url: str) -> str:
    (response,) = fetch(path, url)
    assert response.status_code == 200, response.text[-2000:]
    return response.text


class Elements(HTMLParser):
    """The text of every element matching (tag, class) and of the whole page."""

    def __init__(self, tag: str, css_class: str | None = None) -> None:
        super().__init__()
        self.tag, self.css_class = tag, css_class
        self.found: list[str] = []
        self.depth = 0  # inside a matching element: its nesting depth

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            self.depth += tag == self.tag
            self.found[-1] += " "  # cells and blocks read apart
        elif tag == self.tag and (self.css_class is None or self.css_class in
                                  (dict(attrs).get("class") or "").split()):
            self.depth = 1
            self.found.append("")

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag == self.tag:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.found[-1] += data


def texts(html: str, tag: str, css_class: str | None = None) -> list[str]:
    parser = Elements(tag, css_class)
    parser.feed(html)
    return [" ".join(text.split()) for text in parser.found]


def section(html: str, heading: str) -> str:
    """The HTML from an <h2> to the next one."""
    start = html.index(f"<h2>{heading}</h2>")
    end = html.find("<h2>", start + 1)
    return html[start:end if end > 0 else None]


def test_reader_shows_the_article_as_a_reader_reads_it(archive: tuple[Path, dict]) -> None:
    path, ids = archive
    html = page(path, f"/archive/articles/{ids['reference']}")
    body = html[html.index('<article class="na-article">'):html.index("</article>")]
    assert texts(body, "h1") == [REFERENCE_TITLE]
    # One <p> a paragraph, in order, exactly the truth's paragraphs.
    text = body[body.index('<div class="na-body">'):body.index("</div>")]
    assert texts(text, "p") == [" ".join(p.split()) for p in TRUTH["text"].splitlines()]
    for unwanted in TRUTH["not_in_text"]:
        assert unwanted not in html
    assert texts(body, "span", "na-author") == [TRUTH["author"]]
    assert texts(body, "span", "na-publisher") == [f"来源 {TRUTH['publisher']}"]
    # 07:16:49+08:00 as Beijing time, with the offset.
    assert texts(body, "time") == ["2025-11-14 07:16 +08:00 (Beijing time)"]
    assert '<a href="https://www.163.com/dy/article/KEK0A3PK0527D7QO.html"' in body
    # The table view is one click away.
    assert f'href="/archive/articles?id={ids["reference"]}"' in html


def test_reader_lists_copies_urls_and_the_raw_page(archive: tuple[Path, dict]) -> None:
    path, ids = archive
    html = page(path, f"/archive/articles/{ids['reference']}")
    copies = section(html, "Near copies")
    assert texts(copies, "li")[0].startswith("桐乡:十年蝶变 · netease-dy ·")
    assert f'href="/archive/articles/{ids["repost"]}"' in copies
    assert "https://www.163.com/dy/article/KEK0A3PK0527D7QO.html" in section(html, "Seen at")
    raw = section(html, "Raw pages")
    (link,) = re.findall(r'href="(/archive/-/pages/\d+/raw)"', raw)
    (download,) = fetch(path, link)
    assert download.status_code == 200
    assert download.content == (REFERENCE_DIR / "page.html").read_bytes()
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    # The copy names its original.
    copy_page = page(path, f"/archive/articles/{ids['repost']}")
    assert texts(copy_page, "p", "na-copy-of")[0].startswith("A near copy (")
    assert f'href="/archive/articles/{ids["reference"]}"' in copy_page
    missing, elsewhere = fetch(path, "/archive/-/pages/999999/raw", "/nosuch/-/pages/1/raw")
    assert missing.status_code == 404 and elsewhere.status_code == 404


def test_reader_shows_versions_with_their_diffs(archive: tuple[Path, dict]) -> None:
    path, ids = archive
    versions = section(page(path, f"/archive/articles/{ids['marathon']}"), "Versions")
    assert "Version 1 → 2" in versions
    assert "<ins>(更新)</ins>" in versions  # the title's change, character by character
    assert "<del>两万</del>" in versions or "两万<ins>五千</ins>" in versions
    assert texts(versions, "p", "na-ins")[-1] == "+ 比赛结果将于明日公布。"  # an added paragraph
    unchanged = page(path, f"/archive/articles/{ids['tesla']}")
    assert "One version: no revisit found it edited." in unchanged


def test_stored_text_is_escaped_and_images_wait_for_a_click(archive: tuple[Path, dict]) -> None:
    path, ids = archive
    html = page(path, f"/archive/articles/{ids['hostile']}")
    assert "<script>alert" not in html and "<script>x()" not in html
    assert "<img src=x" not in html and "<b>作者" not in html and "<i>bad" not in html
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;标题" in html
    assert texts(html, "h1")[0] == "<script>alert('title')</script>标题"
    assert "javascript:" not in html
    # The one web image: a button holding its URL, no <img> fetching it on load.
    assert 'data-src="https://nimg.ws.126.net/ok.jpg"' in html
    assert not re.search(r"<img[^>]*nimg", html)
    assert texts(html, "figcaption") == ["图 <说明>"]


def test_home_page_is_search_first(archive: tuple[Path, dict]) -> None:
    path, _ = archive
    html = page(path, "/")
    assert re.search(r'<form class="na-search" action="/-/search"', html)
    assert 'name="q"' in html
    latest = texts(section(html, "Latest articles"), "a")
    assert latest[:3] == ["人工智能大会闭幕", MARATHON_TITLE + "(更新)",
                          other_articles()["tesla"][1]["title"]]
    sources = texts(section(html, "Sources"), "tr")
    assert [row.split()[0] for row in sources[1:]] == ["netease-dy", "netease-news",
                                                       "netease-tech"]
    dy = sources[1]
    assert " finished · 2 pages, 1 new" in dy
    assert "generic fallback 0% no date 0% short body 0%" in dy
    assert "1 failed" in sources[2]
    assert "No watches: add <code>[[watch]]</code>" in html  # none in this archive's seeds


def test_latest_articles_read_the_time_index_not_the_table(tmp_path: Path) -> None:
    """The home page's newest-first list is read from m015's index: no sort of the whole
    table, whatever the archive's size."""
    from newsarchive.web.home import latest

    conn = sqlite3.connect(open_archive(tmp_path / "a.db").conn.execute(
        "pragma database_list").fetchone()[2])
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    conn.row_factory = sqlite3.Row
    latest(conn)
    [query] = [q for q in statements if "from articles a" in q]
    plan = " ".join(row[3] for row in conn.execute("explain query plan " + query))
    assert "articles_by_time" in plan and "TEMP B-TREE" not in plan, plan


def test_home_page_shows_watches_once_the_archive_has_them(archive: tuple[Path, dict],
                                                           tmp_path: Path) -> None:
    path, ids = archive
    copy = tmp_path / "archive.db"
    shutil.copy(path, copy)
    conn = sqlite3.connect(copy)
    with conn:  # the tables as the watchlists' migration makes them (archive/watches.py)
        conn.execute("insert into watches (name, query, events, digest, targets, updated_at) "
                     "values ('wuzhen', '乌镇', '[\"new\"]', 'every run', '[]', '2025-11-14')")
        conn.execute("insert into matches (watch, article_id, event, version, matched_at) "
                     "values ('wuzhen', ?, 'new', 1, strftime('%Y-%m-%dT%H:%M:%S+00:00'))",
                     [ids["reference"]])
    conn.close()
    watches = section(page(copy, "/"), "Watches")
    cells = texts(watches, "td")
    assert cells[0].split()[0] == "wuzhen" and cells[2:] == ["1", "0", "1"]  # this week, last, all
    assert 'href="/-/watch/wuzhen.atom"' in watches
    assert 'href="/-/search?q=%E4%B9%8C%E9%95%87"' in watches


def test_search_page_highlights_newest_first_with_facets(archive: tuple[Path, dict]) -> None:
    path, _ = archive
    html = page(path, "/-/search?q=乌镇")
    titles = texts(html, "a", "na-hit-title")
    db = open_archive(path)
    expected = fts_search(db, "乌镇")
    assert titles == [hit["title"] for hit in expected] == ["桐乡:十年蝶变", REFERENCE_TITLE]
    snippets = re.findall(r'<p class="na-snippet">(.*?)</p>', html, re.S)
    # The snippets newsarchive search prints, highlights as <mark>.
    assert [unescape(s) for s in snippets] == [
        hit["snippet"].replace(HL_OPEN, "<mark>").replace(HL_CLOSE, "</mark>")
        for hit in expected]
    assert "<mark>乌镇</mark>" in snippets[1]
    assert "2 articles match" in html
    facets = texts(html, "aside")[0]
    assert "netease-dy 2" in facets and "2025-11-14 2" in facets
    # Facets filter; a day no hit has gives none.
    html = page(path, "/-/search?q=桐乡&source=netease-news")
    assert texts(html, "a", "na-hit-title") == [MARATHON_TITLE + "(更新)"]
    html = page(path, "/-/search?q=桐乡&day=2025-11-14")
    assert len(texts(html, "a", "na-hit-title")) == 2
    assert "0 articles match" in page(path, "/-/search?q=镇互")
    assert "<mark>Tesla</mark>" in page(path, "/-/search?q=tesla")


def chart_specs(html: str) -> dict[str, Any]:
    found = re.findall(r'<figure class="na-chart" id="chart-(\w+)">\s*'
                       r'<script type="application/json" class="na-spec">(.*?)</script>',
                       html, re.S)
    return {name: json.loads(spec) for name, spec in found}


def test_trends_charts_per_day_runs_health_and_matches(archive: tuple[Path, dict]) -> None:
    path, _ = archive
    html = page(path, "/-/trends?q=乌镇")
    specs = chart_specs(html)
    assert list(specs) == ["articles", "matches", "runs", "health"]
    per_day = {(r["day"], r["source"]): r["articles"] for r in specs["articles"]["data"]["values"]}
    assert per_day[("2025-11-14", "netease-dy")] == 2
    assert per_day[("2025-11-16", "netease-news")] == 2  # the marathon; undated: first seen
    matches = specs["matches"]["data"]["values"]
    assert matches == [{"day": "2025-11-14", "source": "netease-dy", "articles": 2}]
    # The matching articles are listed under the chart, highlighted.
    listed = section(html, "2 articles matching <q>乌镇</q>, newest first")
    assert "<mark>乌镇</mark>" in listed and REFERENCE_TITLE in listed
    runs = specs["runs"]["data"]["values"]
    assert {(r["source"], r["measure"]) for r in runs} >= {("netease-news", "failures"),
                                                           ("netease-dy", "new articles")}
    health = specs["health"]["data"]["values"]
    assert {r["measure"] for r in health} == {"generic fallback", "no date", "short body"}
    # Only the libraries newsarchive serves: no script from anywhere else.
    scripts = re.findall(r'<script[^>]* src="([^"]+)"', html)
    assert scripts and all(src.startswith("/-/newsarchive/") for src in scripts)
    served = fetch(path, *scripts)
    assert all(r.status_code == 200 and len(r.content) > 100 for r in served)
    assert "vegaEmbed" in served[-1].text
    assert "matches" not in chart_specs(page(path, "/-/trends"))


def test_static_files_are_only_those_listed(archive: tuple[Path, dict]) -> None:
    path, _ = archive
    for url in ("/-/newsarchive/hooks.py", "/-/newsarchive/access.py",
                "/-/newsarchive/templates/row.html"):
        (response,) = fetch(path, url)
        assert response.status_code == 404, url


def test_other_tables_keep_datasettes_row_page(archive: tuple[Path, dict]) -> None:
    path, _ = archive
    html = page(path, "/archive/crawl_runs/1")
    assert 'class="rows-and-columns"' in html and "na-article" not in html


# Serving beyond localhost ---------------------------------------------------------------

HASH = "pbkdf2_sha256$480000$0123456789abcdef$abcdef"


def test_non_loopback_needs_authentication_or_public() -> None:
    meta = {"title": "x"}
    assert locked_metadata(meta, "127.0.0.1", user=None, root=False, public=False) is meta
    assert is_loopback("::1") and is_loopback("localhost") and not is_loopback("0.0.0.0")
    with pytest.raises(AccessError, match=r"refusing to serve the archive on 0\.0\.0\.0"):
        locked_metadata(meta, "0.0.0.0", user=None, root=False, public=False)
    assert locked_metadata(meta, "0.0.0.0", user=None, root=False, public=True) is meta
    locked = locked_metadata(meta, "0.0.0.0", user="editor", root=True, public=False,
                             environ={"NEWSARCHIVE_PASSWORD_HASH": HASH})
    assert locked["allow"] == {"id": ["editor", "root"]}
    assert locked["plugins"]["datasette-auth-passwords"] == {
        "editor_password_hash": {"$env": "NEWSARCHIVE_PASSWORD_HASH"}}
    with pytest.raises(AccessError, match="it is not set"):
        locked_metadata(meta, "0.0.0.0", user="editor", root=False, public=False, environ={})
    with pytest.raises(AccessError, match="cannot go with"):
        locked_metadata(meta, "0.0.0.0", user=None, root=True, public=True)


def test_serve_refuses_0000_without_authentication(archive: tuple[Path, dict]) -> None:
    path, _ = archive
    result = CliRunner().invoke(cli, ["serve", "--db", str(path), "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "refusing to serve the archive on 0.0.0.0 without authentication" in result.output


def test_password_sign_in_guards_every_page(archive: tuple[Path, dict], tmp_path: Path) -> None:
    from datasette_auth_passwords.utils import hash_password

    path, ids = archive
    env = {"NEWSARCHIVE_PASSWORD_HASH": hash_password("correct horse")}
    with serving(path, "--user", "editor", env=env) as base:
        assert httpx.get(f"{base}/robots.txt", timeout=120).text == "User-agent: *\nDisallow: /"
        guarded = ["/", f"/archive/articles/{ids['reference']}", "/-/search?q=乌镇",
                   "/-/trends?q=乌镇", "/archive/-/pages/1/raw", "/archive/articles.json"]
        for url in guarded:
            response = httpx.get(base + url, timeout=120)
            assert response.status_code == 403, url
            assert "乌镇" not in response.text and REFERENCE_TITLE not in response.text
        # Generous timeouts: the first search loads jieba's dictionary, on a loaded machine.
        with httpx.Client(base_url=base, timeout=120) as client:
            form = client.get("/-/login").text
            token = re.search(r'name="csrftoken" value="([^"]+)"', form)
            assert token is not None
            wrong = client.post("/-/login", data={"username": "editor", "password": "x",
                                                  "csrftoken": token.group(1)})
            assert "Invalid username or password" in wrong.text
            signed_in = client.post("/-/login", data={
                "username": "editor", "password": "correct horse",
                "csrftoken": token.group(1)})
            assert signed_in.status_code == 302
            for url in guarded:
                assert client.get(url).status_code == 200, url
            assert REFERENCE_TITLE in client.get("/").text


def test_times_are_shown_in_beijing_time_and_a_day_alone_as_a_day() -> None:
    from newsarchive.web.reader import beijing_time

    assert beijing_time("2025-11-14T07:16:49+08:00") == "2025-11-14 07:16 +08:00"
    assert beijing_time("2025-11-16T22:00:00+00:00") == "2025-11-17 06:00 +08:00"
    assert beijing_time("2019-06-12") == "2019-06-12"
    assert beijing_time("2025-11-14T07:16:49") == "2025-11-14 07:16"
    assert beijing_time("soon") == "soon" and beijing_time(None) is None


def test_root_sign_in_url_opens_the_archive(archive: tuple[Path, dict]) -> None:
    """--root: datasette prints a one-time sign-in URL; until it is opened, every page is
    403. (On 127.0.0.1 here: --root locks a loopback archive just the same.)"""
    path, _ = archive
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "from newsarchive.cli import main; main()", "serve",
         "--db", str(path), "--port", str(port), "--root"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 120)
        assert ready, "no sign-in URL printed within 120 s"
        line = process.stdout.readline()
        assert re.fullmatch(rf"http://127\.0\.0\.1:{port}/-/auth-token\?token=\w+\n", line)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=120) as client:
            for _ in range(600):  # the URL is printed before the server listens
                try:
                    assert client.get("/").status_code == 403
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            assert client.get(line.strip()).status_code == 302
            assert REFERENCE_TITLE in client.get("/").text
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_hostile_query_is_text_everywhere(archive: tuple[Path, dict]) -> None:
    path, _ = archive
    query = "</script><script>alert(1)</script>乌镇"
    for url in (f"/-/search?q={query}", f"/-/trends?q={query}", f"/-/trends?q={query}&days=x"):
        html = page(path, url.replace("<", "%3C").replace(">", "%3E"))
        assert "<script>alert(1)" not in html, url
    specs = chart_specs(page(path, "/-/trends?q=" + query.replace("<", "%3C")))
    assert specs["matches"]["title"] == f"Articles matching {query} per day"
