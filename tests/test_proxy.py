"""Crawls through a proxy, and host names refused before anything is sent to them.

The sample site is reached as http(s)://news.example through a real forwarding proxy on
127.0.0.1 (tests/forward_proxy.py: plain GETs, and CONNECT for https), set the way users
set one: `http_proxy`/`https_proxy`, or a source's `proxy` key. The crawl's DNS answers
come from a stub (tests/dnsstub.py), so no lookup leaves the machine: news.example answers
a public address, and the proxy is the only one that knows where it really is.

Before the fix, every response through the proxy carried the proxy's address
(127.0.0.1) as its peer and was refused as "resolved to 127.0.0.1".
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import sqlite3
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from forward_proxy import serve_proxy
from scrapy.resolver import dnscache
from twisted.internet import defer
from twisted.python.failure import Failure

from conftest import FIXTURES, article_cases, load_json, run_cli
from crawler.resolver import CheckedResolver, allow_local_name, answer_refusal
from newsarchive.demo.samplesite import Route, SampleSite, serve_sample_site

TESTS = Path(__file__).parent
PUBLIC = "93.184.216.34"  # what the stub answers for news.example; never connected to
ARTICLE_PATHS = {load_json(meta)["path"] for meta in FIXTURES.glob("*/*/response.json")
                 if meta.parent.parent.name != "site"}
FAST = ("-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "RETRY_TIMES=1",
        "-s", "TWISTED_DNS_RESOLVER=dnsstub.StubResolver")


def tls_context(tmp: Path, host: str) -> ssl.SSLContext:
    """A server context with a self-signed certificate for `host` (Scrapy does not verify
    certificates by default, as browsers' users of such proxies often must not either)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .sign(key, hashes.SHA256()))
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    return context


def crawl_env(dns: dict[str, str], **extra: str) -> dict[str, str]:
    """The child crawl's environment: the DNS stub, and no proxy but the ones given."""
    env = {name: "" for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                                 "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY")}
    path = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    return {**env, "PYTHONPATH": path, "NEWSARCHIVE_TEST_DNS": json.dumps(dns), **extra}


def rows(db: Path, sql: str, *params: object) -> list[tuple]:
    connection = sqlite3.connect(db)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def article_requests(site: SampleSite) -> list[str]:
    return [path for _, path in site.requests if path in ARTICLE_PATHS]


@pytest.fixture(params=["http", "https"])
def proxied_site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple]:
    """The sample site as the real one is laid out: listings on news.example (the seeds'
    entry points), articles on www.news.example (admitted by the allow rules only)."""
    scheme = request.param
    tls = tls_context(tmp_path, "news.example") if scheme == "https" else None
    with serve_sample_site(tls=tls, base_url=f"{scheme}://www.news.example") as site:
        port = 443 if scheme == "https" else 80
        routes = {(host, port): ("127.0.0.1", site.port)
                  for host in ("news.example", "www.news.example")}
        with serve_proxy(routes) as proxy:
            yield scheme, site, proxy


def proxied_seeds(scheme: str, seeds: Path) -> Path:
    """The sample seeds, entry points on news.example, allow rules naming www.news.example
    (and news.example, where the listings' relative links lead)."""
    text = (FIXTURES / "sample-seeds.toml").read_text("utf-8")
    text = text.replace("{base}", f"{scheme}://news.example")
    text = text.replace("'/", "'^https?://(www\\.)?news\\.example/")
    seeds.mkdir()
    (seeds / "sample.toml").write_text(text, "utf-8")
    return seeds


def test_a_crawl_through_a_proxy_archives_every_article_once(proxied_site: tuple,
                                                             tmp_path: Path) -> None:
    scheme, site, proxy = proxied_site
    seeds = proxied_seeds(scheme, tmp_path / "seeds")
    db = tmp_path / "archive.db"
    env = crawl_env({"news.example": PUBLIC, "www.news.example": PUBLIC},
                    **{f"{scheme}_proxy": proxy.url})
    first = run_cli("crawl", "demo-netease", "--db", str(db), "--seeds", str(seeds), *FAST,
                    env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    expected = {load_json(case / "expected.json")["canonical_url"] for case in article_cases()
                if "163.com" in load_json(case / "expected.json")["canonical_url"]}
    stored = [row[0] for row in rows(db, "select canonical_url from articles")]
    assert sorted(stored) == sorted(expected), rows(db, "select url, reason from failures")
    refused = rows(db, "select url, reason from failures where reason like '%resolved to%'")
    assert refused == []
    # Everything went through the proxy: CONNECT tunnels for https, absolute GETs for http.
    if scheme == "https":
        assert {m for m, _ in proxy.asked} == {"CONNECT"}
        assert {t for _, t in proxy.asked} == {"news.example:443", "www.news.example:443"}
    else:
        assert {m for m, _ in proxy.asked} == {"GET"}
        assert {t.split("/")[2] for _, t in proxy.asked} == {"news.example", "www.news.example"}
    assert article_requests(site)
    site.requests.clear()
    second = run_cli("crawl", "demo-netease", "--db", str(db), "--seeds", str(seeds), *FAST,
                     env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert article_requests(site) == []  # nothing fetched again
    assert sorted(row[0] for row in rows(db, "select canonical_url from articles")) \
        == sorted(expected)


def write_seeds(tmp: Path, text: str) -> Path:
    seeds = tmp / "seeds"
    seeds.mkdir(exist_ok=True)
    (seeds / "s.toml").write_text(text, "utf-8")
    return seeds


def test_the_seeds_proxy_key_is_used_and_its_failures_name_it(tmp_path: Path) -> None:
    """A source's `proxy` wins over the environment; a proxy that wants a password says
    so (407, to a plain request and to a CONNECT) naming the proxy; a proxy that is not
    there is "connection refused"."""
    with serve_sample_site(base_url="http://news.example") as site, \
            serve_proxy({("news.example", 80): ("127.0.0.1", site.port)},
                        credentials="Basic " + base64.b64encode(b"me:secret").decode()) as proxy:
        port = proxy.url.rsplit(":", 1)[1]
        sources = [("good", f"http://me:secret@127.0.0.1:{port}", "http://news.example",
                    "/news.163.com/domestic/"),
                   ("nopass", f"http://127.0.0.1:{port}", "http://news.example",
                    "/rss/netease-news.xml"),
                   ("tunnel", f"http://127.0.0.1:{port}", "https://news.example", "/x.xml"),
                   ("absent", "http://127.0.0.1:9", "http://news.example", "/sitemap.xml")]
        seeds = write_seeds(tmp_path, "".join(f"""
[[source]]
name = "{name}"
start_urls = ["{base}{path}"]
allow = ['/www\\.163\\.com/(dy|news)/article/[0-9A-Z]{{16}}\\.html$']
profile = "netease"
max_listing_pages = 1
proxy = "{url}"
""" for name, url, base, path in sources))
        db = tmp_path / "archive.db"
        # The environment's proxy does not exist: were it used, nothing would be fetched.
        env = crawl_env({"news.example": PUBLIC}, http_proxy="http://127.0.0.1:9")
        result = run_cli("crawl", "--db", str(db), "--seeds", str(seeds), *FAST, env=env)
    reasons = dict(rows(db, "select url, reason from failures"))
    assert reasons["http://news.example/rss/netease-news.xml"] == (
        f"proxy http://127.0.0.1:{port}: HTTP 407 (Proxy Authentication Required)")
    assert reasons["http://news.example/sitemap.xml"] == (
        "proxy http://127.0.0.1:9: connection refused")
    assert reasons["https://news.example/x.xml"] == (
        f"proxy http://127.0.0.1:{port}: CONNECT to news.example:443 answered 407 "
        "Proxy Authentication Required")
    assert rows(db, "select count(*) from articles")[0][0] > 0  # the good source's
    assert "secret" not in result.stderr and "secret" not in json.dumps(reasons)


def rebinding_site(site: SampleSite, tmp: Path) -> str:
    """A listing on the named sample site linking one good article and one article on
    rebind.example.com, a host the allow rule admits but whose DNS answers 127.0.0.1."""
    listing = tmp / "listing.html"
    listing.write_text(
        f'<html><body><a href="{site.base_url}/www.163.com/dy/article/KEK0A3PK0527D7QO.html">a'
        f'</a><a href="http://rebind.example.com:{site.port}/www.163.com/dy/article/'
        f'REBINDXXXXXXXXXX.html">b</a></body></html>', "utf-8")
    site.overrides["/listing/"] = Route(listing, 200, {"Content-Type": "text/html"})
    return f"http://rebind.example.com:{site.port}/www.163.com/dy/article/REBINDXXXXXXXXXX.html"


@pytest.mark.parametrize("through_proxy", [False, True])
def test_a_name_answering_a_loopback_address_is_refused_before_connecting(
        through_proxy: bool, tmp_path: Path) -> None:
    with serve_sample_site() as site, \
            serve_proxy({("127.0.0.1", 0): ("127.0.0.1", 0)}) as proxy:
        proxy.routes[("127.0.0.1", site.port)] = ("127.0.0.1", site.port)
        proxy.routes[("rebind.example.com", site.port)] = ("127.0.0.1", site.port)
        rebind = rebinding_site(site, tmp_path)
        seeds = write_seeds(tmp_path, f"""
[[source]]
name = "rebind"
start_urls = ["{site.base_url}/listing/"]
allow = ['^http://[a-z0-9.]+:[0-9]+/www\\.163\\.com/dy/article/[0-9A-Z]{{16}}\\.html$']
profile = "netease"
""")
        db, log = tmp_path / "archive.db", tmp_path / "dns.log"
        env = crawl_env({"rebind.example.com": "127.0.0.1"},
                        NEWSARCHIVE_TEST_DNS_LOG=str(log),
                        **({"http_proxy": proxy.url} if through_proxy else {}))
        result = run_cli("crawl", "--db", str(db), "--seeds", str(seeds), *FAST, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert rows(db, "select reason from failures where url = ?", rebind) == [(
        f"off-site: {rebind} (rebind.example.com resolved to 127.0.0.1, "
        "a non-public address no seed names)",)]
    # Not a byte to it: the site never saw the path, the proxy was never asked for it.
    assert "/www.163.com/dy/article/REBINDXXXXXXXXXX.html" not in [p for _, p in site.requests]
    assert not any("rebind" in target for _, target in proxy.asked)
    # Looked up once (robots.txt, the page and its retry all got that one answer).
    assert log.read_text().split().count("rebind.example.com") == 1
    assert rows(db, "select count(*) from articles")[0][0] == 1  # the good one
    if through_proxy:
        assert any(target.startswith(site.base_url) for _, target in proxy.asked)


class ListResolver(CheckedResolver):
    """The crawl's resolver with answers from a list, one per lookup: a rebinding DNS."""

    def __init__(self, answers: list[str]) -> None:
        super().__init__(None, 100, 5)  # type: ignore[arg-type]
        self.answers, self.lookups = answers, 0

    def lookup(self, name: str) -> defer.Deferred[str]:
        self.lookups += 1
        return defer.succeed(self.answers.pop(0))


def resolved(resolver: CheckedResolver, name: str) -> str:
    results: list = []
    resolver.getHostByName(name).addBoth(results.append)
    return str(results[0].value) if isinstance(results[0], Failure) else results[0]


def test_the_answer_checked_is_the_answer_kept() -> None:
    """A name is asked once a run: a second answer (the rebinding one) is never used."""
    dnscache.clear()
    public = ListResolver([PUBLIC, "127.0.0.1"])
    assert resolved(public, "first.example") == PUBLIC
    assert resolved(public, "first.example") == PUBLIC and public.lookups == 1
    private = ListResolver(["10.1.2.3", PUBLIC])
    refusal = "second.example resolved to 10.1.2.3, a non-public address no seed names"
    assert resolved(private, "second.example") == refusal
    assert resolved(private, "second.example") == refusal and private.lookups == 1
    dnscache.clear()


@pytest.mark.parametrize(("address", "refused"), [
    ("127.0.0.1", True), ("10.0.0.7", True), ("169.254.169.254", True), ("192.168.1.1", True),
    ("100.64.0.1", True), ("0.0.0.0", True), (PUBLIC, False),
    ("198.18.0.9", False),  # a Clash-style proxy's fake-ip answer stands for the real host
])
def test_which_answers_are_refused(address: str, refused: bool) -> None:
    assert (answer_refusal("news.example", address) is not None) is refused


def test_named_hosts_and_proxies_may_be_local() -> None:
    allow_local_name("intranet.corp")
    assert answer_refusal("intranet.corp", "10.0.0.5") is None
    assert answer_refusal("INTRANET.corp.", "10.0.0.5") is None


def test_no_proxy_reaches_its_hosts_directly(tmp_path: Path) -> None:
    """no_proxy names the hosts the environment's proxy is not for: here the sample site,
    while http_proxy points at a proxy that is not running."""
    with serve_sample_site() as site:
        seeds = write_seeds(tmp_path, f"""
[[source]]
name = "direct"
start_urls = ["{site.base_url}/news.163.com/domestic/"]
allow = ['/www\\.163\\.com/(dy|news)/article/[0-9A-Z]{{16}}\\.html$']
profile = "netease"
max_listing_pages = 1
""")
        db = tmp_path / "archive.db"
        env = crawl_env({}, http_proxy="http://127.0.0.1:9", no_proxy="127.0.0.1")
        result = run_cli("crawl", "--db", str(db), "--seeds", str(seeds), *FAST, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert rows(db, "select count(*) from articles")[0][0] > 0
    assert rows(db, "select count(*) from failures where reason like 'proxy %'") == [(0,)]
