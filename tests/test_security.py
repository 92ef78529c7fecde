"""Security: the crawler stays on its sources' hosts; stored pages are never rendered as
HTML; a crawl writes nothing but its archive.

The crawl end to end (redirects off the site, to localhost, to another loopback port,
to file://) is in test_hostile.py; datasette's read-only serving (no writable SQL, no
upload) in test_serve.py::test_nothing_can_be_written. Here: the host policy on every
spelling of a local address, on the real seeds, and on pages carrying <script>.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
import yaml
from datasette.app import Datasette

from archive import open_archive
from archive.datasette_plugin import METADATA_FILE
from archive.store import ArchiveWriter, FetchedPage
from conftest import FIXTURES, run_cli
from crawler.safety import HostPolicy, host_regexes
from crawler.seeds import SeedsError, Source, load_seeds, load_seeds_file
from newsarchive.demo.demo import write_sample_seeds
from newsarchive.demo.samplesite import SampleSite
from pipelines.extract import extract_article

SAMPLE = Source(name="sample", allow=(r"/www\.163\.com/dy/article/[0-9A-Z]{16}\.html$",),
                start_urls=("http://127.0.0.1:8123/news.163.com/domestic/",),
                sitemaps=("http://127.0.0.1:8123/sitemap.xml",))
REPO_SEEDS = Path(__file__).parents[1] / "seeds"


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8123/www.163.com/dy/article/KEK0A3PK0527D7QO.html",
    "http://127.0.0.1:8123/robots.txt",
    "http://127.1:8123/sitemap.xml",  # the same address and port, however spelt
    "http://[::ffff:127.0.0.1]:8123/sitemap.xml",
])
def test_the_address_a_seed_names_is_allowed(url: str) -> None:
    assert HostPolicy.for_source(SAMPLE).refusal(url) is None


@pytest.mark.parametrize(("url", "why"), [
    ("http://127.0.0.1:8124/admin", "loopback address no seed names"),
    ("http://127.0.0.1/", "loopback address no seed names"),  # port 80: not the one named
    ("http://localhost:8123/", "loopback address no seed names"),
    ("http://admin.localhost:8123/", "loopback address no seed names"),
    ("http://127.0.0.2:8123/", "loopback address no seed names"),
    ("http://2130706433:9/", "loopback address no seed names"),  # 127.0.0.1 as a number
    ("http://0x7f.0.0.1:9/", "loopback address no seed names"),
    ("http://017700000001:9/", "loopback address no seed names"),  # octal
    ("http://[::1]:8123/", "loopback address no seed names"),
    ("http://10.0.0.1/", "private address no seed names"),
    ("http://172.16.5.4/", "private address no seed names"),
    ("http://192.168.1.1/", "private address no seed names"),
    ("http://169.254.169.254/latest/meta-data/", "private address no seed names"),
    ("http://100.64.0.1/", "private address no seed names"),  # carrier-grade NAT
    ("http://0.0.0.0:8123/", "private address no seed names"),
    ("http://[fe80::1]/", "private address no seed names"),
    ("http://[fd00::1]/", "private address no seed names"),
    ("http://[::ffff:10.0.0.1]/", "private address no seed names"),
    ("http://other.example/www.163.com/dy/article/KEK0A3PK0527D7QO.html",
     "host not among the source's hosts"),
    ("http://8.8.8.8/", "host not among the source's hosts"),
    ("file:///etc/passwd", "scheme file: only http and https are fetched"),
    ("ftp://127.0.0.1:8123/x", "scheme ftp: only http and https are fetched"),
    ("data:text/html,<p>x</p>", "scheme data: only http and https are fetched"),
    ("http:///nohost", "no host"),
])
def test_everything_else_is_refused_before_connecting(url: str, why: str) -> None:
    # A pure function of the URL: no DNS lookup, no connection.
    assert HostPolicy.for_source(SAMPLE).refusal(url) == why


def test_the_real_seeds_reach_their_own_hosts_only() -> None:
    sources = load_seeds(REPO_SEEDS)
    assert sources
    for source in sources:
        policy = HostPolicy.for_source(source)
        for url in source.entry_points():
            assert policy.refusal(url) is None, (source.name, url)
        if source.seeds_file and source.seeds_file.endswith("netease.toml"):
            assert policy.refusal(
                "https://www.163.com/dy/article/KEK0A3PK0527D7QO.html") is None
        for url in ("https://www.163.com.evil.example/dy/article/KEK0A3PK0527D7QO.html",
                    "https://evil.example/www.163.com/dy/article/KEK0A3PK0527D7QO.html",
                    "https://163.com.cn/", "http://127.0.0.1/", "http://[::1]/"):
            assert policy.refusal(url) is not None, (source.name, url)


def test_hosts_an_allow_regex_spells_out() -> None:
    patterns = host_regexes((r"^https?://www\.163\.com/(dy|news)/article/",
                             r"^https?:\/\/[a-z]+\.163\.com/\d{2}/",
                             r"^https?://(m|3g)\.163\.com(:\d+)?/",
                             r"/www\.163\.com/dy/article/",  # no scheme: names no host
                             r"^https?://([/"))  # not a regex: ignored
    assert [p.pattern for p in patterns] == [r"www\.163\.com", r"[a-z]+\.163\.com",
                                             r"(m|3g)\.163\.com(:\d+)?"]
    source = Source(name="x", allow=(r"^https?://[a-z]+\.163\.com/\d{2}/",),
                    start_urls=("https://news.163.com/",))
    policy = HostPolicy.for_source(source)
    assert policy.refusal("https://sports.163.com/25/1113/10/KEIQ4R2B000189FH.html") is None
    assert policy.refusal("https://sports.163.com.evil.example/25/") is not None
    assert policy.refusal("https://x.y.163.com/25/") is not None  # [a-z]+ has no dots


def test_a_host_that_resolves_to_a_local_address_is_refused_once_connected() -> None:
    policy = HostPolicy.for_source(SAMPLE)
    assert policy.resolved_refusal("http://intranet.example/x", "10.1.2.3") == (
        "intranet.example resolved to 10.1.2.3, a non-public address no seed names")
    assert policy.resolved_refusal("http://news.example/x", "93.184.216.34") is None
    assert policy.resolved_refusal("http://127.0.0.1:8123/x", "127.0.0.1") is None


SCRIPT_TITLE = '标题&lt;script&gt;alert("title")&lt;/script&gt;'
SCRIPT_BODY = ("这一段正文带着脚本&lt;script&gt;alert(&quot;body&quot;)&lt;/script&gt;"
               "和图片&lt;img src=x onerror=alert(1)&gt;,浏览时必须显示为文字。")


@pytest.fixture(scope="module")
def script_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An archive holding a page whose title and body carry <script> (as text)."""
    case = FIXTURES / "netease" / "dy-post2020-reference"
    html = (case / "page.html").read_text("utf-8")
    html = html.replace("十年蝶变,桐乡以智能网联汽车为引擎打造“国际互联网小镇”样板",
                        SCRIPT_TITLE)
    start = html.index("<p", html.index('class="post_body"'))
    html = html[:start] + f"<p>{SCRIPT_BODY}</p>" + html[start:]
    url = "https://www.163.com/dy/article/KEK0A3PK0527D7QO.html"
    body = html.encode("utf-8")
    article = extract_article(body, url, content_type="text/html; charset=utf-8",
                              profile="netease")
    assert article is not None
    assert '<script>alert("title")</script>' in (article["title"] or "")
    assert '<script>alert("body")</script>' in article["text"]
    path = tmp_path_factory.mktemp("xss") / "archive.db"
    writer = ArchiveWriter(open_archive(path))
    run = writer.start_run("netease-dy")
    page = FetchedPage(url=url, final_url=url, status=200,
                       headers={"Content-Type": "text/html; charset=utf-8"}, body=body,
                       fetched_at="2025-11-16T10:00:00+00:00")
    assert writer.store(run, "netease-dy", page, article) == "new"
    writer.record_failure(run, "https://www.163.com/<script>alert('url')</script>",
                          "HTTP 404 <script>alert('reason')</script>", 404)
    writer.finish_run(run, "ok", "finished")
    return path


def fetch(path: Path, *urls: str) -> list[httpx.Response]:
    metadata = yaml.safe_load(METADATA_FILE.read_text("utf-8"))

    async def run() -> list[httpx.Response]:
        datasette = Datasette([str(path)], metadata=metadata)
        return [await datasette.client.get(url) for url in urls]

    return asyncio.run(run())


def test_stored_pages_are_shown_as_text_never_run(script_archive: Path) -> None:
    pages = fetch(script_archive, "/archive/articles", "/archive/articles/1",
                  "/archive/articles?_search=标题", "/archive/search?q=正文",
                  "/archive/latest", "/archive/failures", "/archive/pages",
                  "/archive/articles?_facet=title", "/archive/article_urls")
    for page in pages:
        assert page.status_code == 200, page.url
        html = page.text
        assert "<script>alert(" not in html, page.url
        assert "<img src=x onerror" not in html, page.url
        assert "&lt;script&gt;alert(" in html or page.url.path.endswith("/pages"), page.url
    # The raw page (with its markup) is a compressed blob: offered as a download.
    assert "<Binary" in pages[6].text or "&lt;Binary" in pages[6].text


def test_a_source_name_cannot_name_a_path(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.toml"
    for name in ("../../etc/cron.d/x", str(tmp_path / "x"), "a/b", "..", "A"):
        seeds.write_text(f'[[source]]\nname = "{name}"\nallow = ["x"]\n'
                         'start_urls = ["https://news.163.com/"]\n', "utf-8")
        with pytest.raises(SeedsError, match="key 'name'"):
            load_seeds_file(seeds)


def test_a_crawl_writes_its_archive_and_nothing_else(sample_site: SampleSite,
                                                     tmp_path: Path) -> None:
    work = tmp_path / "work"  # the crawl's current directory
    work.mkdir()
    seeds = write_sample_seeds(sample_site.base_url, tmp_path / "seeds")
    before = {p for p in tmp_path.rglob("*")}
    result = run_cli("crawl", "--db", str(tmp_path / "out" / "news.db"), "--seeds", str(seeds),
                     "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", cwd=work)
    assert result.returncode == 0, result.stderr[-2000:]
    created = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")} - {
        p.relative_to(tmp_path).as_posix() for p in before}
    # The archive, its WAL and shared memory, and archive/db.py's lock file beside it.
    assert created <= {"out", "out/news.db", "out/news.db-wal", "out/news.db-shm",
                       "out/news.db.lock"}, created
    assert "out/news.db" in created
