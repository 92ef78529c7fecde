"""A hostile web server for the fault-injection tests, on 127.0.0.1: one handler per path.

Every case sits at a URL shaped like a NetEase article (/www.163.com/dy/article/DOCID.html),
so the crawler's allow rules send it there, and answers broken in one way: truncated,
lying about its charset, binary, empty, huge, a gzip bomb, redirect loops, redirects off
the site or to loopback addresses no seed names, error statuses with and without
Retry-After, a slow drip, no answer at all, 100k nested divs, scripts only. A few good
fixture pages are served next to them, to show the rest of the crawl completes.

A second server, `private_service`, stands for an internal service on another loopback
port: the crawler is redirected there and must never reach it.
"""

from __future__ import annotations

import gzip
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

FIXTURES = Path(__file__).parent / "fixtures"
MB = 1024 * 1024
HUGE_PAGE = 30 * MB
BOMB_DECOMPRESSED = 2048 * MB  # what the gzip bomb inflates to; ~2 MB on the wire
HTML = "text/html; charset=utf-8"

Handler = Callable[[BaseHTTPRequestHandler, "HostileSite"], None]


def docid(name: str) -> str:
    """A 16-character NetEase DOCID ([0-9A-Z]) spelling the case's name."""
    letters = "".join(c for c in name.upper() if c.isalnum())
    assert len(letters) <= 16, name  # distinct names, distinct DOCIDs
    return (letters + "X" * 16)[:16]


def article_path(name: str, kind: str = "dy") -> str:
    return f"/www.163.com/{kind}/article/{docid(name)}.html"


def fixture(case: str) -> tuple[bytes, dict]:
    """A fixture page's bytes and its expected extraction."""
    directory = FIXTURES / "netease" / case
    return ((directory / "page.html").read_bytes(),
            json.loads((directory / "expected.json").read_text("utf-8")))


@dataclass
class Case:
    name: str
    path: str
    handler: Handler
    expect: str  # "article", or the start of the failure reason
    fixture: str | None = None  # the fixture whose title and text the article must have


@dataclass
class HostileSite:
    base_url: str = ""
    private_url: str = ""  # the "internal service" on another loopback port
    cases: dict[str, Case] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)  # path -> requests served
    private_hits: list[str] = field(default_factory=list)

    def case(self, name: str) -> Case:
        return self.cases[name]


# -- response helpers --------------------------------------------------------------


def send(h: BaseHTTPRequestHandler, status: int, body: bytes = b"",
         headers: dict[str, str] | None = None) -> None:
    h.send_response(status)
    for name, value in {"Content-Type": HTML, **(headers or {})}.items():
        h.send_header(name, value)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def page(body: bytes, content_type: str = HTML) -> Handler:
    return lambda h, site: send(h, 200, body, {"Content-Type": content_type})


def status(code: int, retry_after: str | None = None) -> Handler:
    headers = {"Retry-After": retry_after} if retry_after else {}
    return lambda h, site: send(h, code, b"<html><body>error</body></html>", headers)


def redirect(target: Callable[[HostileSite], str], code: int = 302) -> Handler:
    return lambda h, site: send(h, code, b"", {"Location": target(site)})


def meta_refresh(target: Callable[[HostileSite], str]) -> Handler:
    """A GBK page (declared in the page, not the header) whose <head> sends the browser
    on with <meta http-equiv="refresh">, and whose body is long."""
    def handler(h: BaseHTTPRequestHandler, site: HostileSite) -> None:
        markup = ('<html><head><meta charset="gbk"><title>页面跳转中</title>'
                  f'<meta http-equiv="refresh" content="0; url={target(site)}"></head>'
                  f'<body><p>{"正在跳转，请稍候。" * 20_000}</p></body></html>')
        send(h, 200, markup.encode("gbk"), {"Content-Type": "text/html"})
    return handler


def truncated(h: BaseHTTPRequestHandler, site: HostileSite) -> None:
    body, _ = fixture("dy-post2020-reference")
    h.send_response(200)
    h.send_header("Content-Type", HTML)
    h.send_header("Content-Length", str(len(body)))  # promises all of it...
    h.end_headers()
    h.wfile.write(body[:2000])  # ...sends 2000 bytes, and hangs up
    h.close_connection = True


def huge(declared: bool) -> Handler:
    def handler(h: BaseHTTPRequestHandler, site: HostileSite) -> None:
        chunk = b"<p>" + "大".encode() * 20_000 + b"</p>\n"
        h.send_response(200)
        h.send_header("Content-Type", HTML)
        if declared:
            h.send_header("Content-Length", str(HUGE_PAGE))
        else:
            h.send_header("Connection", "close")  # the body ends when the connection does
        h.end_headers()
        h.close_connection = True
        sent = 0
        while sent < HUGE_PAGE:  # streamed: the server never holds 30 MB either
            part = chunk[:HUGE_PAGE - sent]
            h.wfile.write(part)
            sent += len(part)

    return handler


def _bomb() -> bytes:
    # Concatenated gzip members inflate one after the other (RFC 1952): one 16 MB member
    # of zeros compressed once, repeated.
    member = gzip.compress(b"\0" * (16 * MB), compresslevel=9, mtime=0)
    return member * (BOMB_DECOMPRESSED // (16 * MB))


def gzip_bomb(content_type: str = HTML) -> Handler:
    bomb = _bomb()
    return lambda h, site: send(h, 200, bomb, {"Content-Type": content_type,
                                              "Content-Encoding": "gzip"})


def drip(body: bytes, chunk: int, pause: float, forever: bool = False) -> Handler:
    """Send `body` `chunk` bytes at a time, `pause` seconds apart; `forever`: keep going."""
    def handler(h: BaseHTTPRequestHandler, site: HostileSite) -> None:
        h.send_response(200)
        h.send_header("Content-Type", HTML)
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True
        offset = 0
        while forever or offset < len(body):
            h.wfile.write(body[offset % len(body):][:chunk] or b" ")
            h.wfile.flush()
            offset += chunk
            time.sleep(pause)

    return handler


def silent(seconds: float) -> Handler:
    def handler(h: BaseHTTPRequestHandler, site: HostileSite) -> None:
        time.sleep(seconds)  # no status line, no headers: the client must give up
        h.close_connection = True

    return handler


def retry_after_then(body: bytes, retry_after: str) -> Handler:
    """503 with Retry-After on the first request, the page on the next."""
    def handler(h: BaseHTTPRequestHandler, site: HostileSite) -> None:
        if site.hits[urlsplit(h.path).path] == 1:
            send(h, 503, b"busy", {"Retry-After": retry_after})
        else:
            send(h, 200, body)

    return handler


def nested_divs(depth: int) -> bytes:
    text = "深层嵌套的正文段落，用来测试解析器的深度限制。" * 5
    return (f"<html><head><title>深层嵌套</title></head><body>{'<div>' * depth}"
            f"<p>{text}</p>{'</div>' * depth}</body></html>").encode()


def scripts_only() -> bytes:
    script = "<script>document.write('<p>' + '假正文'.repeat(50) + '</p>');</script>\n"
    return f"<html><head><title>脚本</title>{script}</head><body>{script * 500}</body></html>"\
        .encode()


def binary() -> bytes:
    return random.Random(2025).randbytes(64 * 1024)


# -- the site --------------------------------------------------------------------------


def build_cases() -> list[Case]:
    reference, _ = fixture("dy-post2020-reference")
    gbk_page, _ = fixture("gbk-2004")
    utf8_page, _ = fixture("news-post2020")
    same_topic, _ = fixture("dy-same-topic")
    dy2019, _ = fixture("dy2019")
    pc2019, _ = fixture("pc2019")

    def loop_target(name: str) -> Callable[[HostileSite], str]:
        return lambda site: site.base_url + article_path(name)

    chain = [Case(f"chain{i}", article_path(f"chain{i}"),
                  redirect(loop_target(f"chain{i + 1}")), "too many redirects")
             for i in range(12)]
    return [
        # Good pages: the crawl around the hostile ones must still archive these.
        Case("good-reference", article_path("goodreference"), page(reference), "article",
             "dy-post2020-reference"),
        Case("good-pc2019", article_path("goodpc2019", "news"), page(pc2019), "article",
             "pc2019"),
        Case("gbk-as-utf8", article_path("gbkservedasutf8", "news"),
             page(gbk_page, "text/html; charset=utf-8"), "article", "gbk-2004"),
        Case("utf8-as-gbk", article_path("utf8servedasgbk", "news"),
             page(utf8_page, "text/html; charset=gbk"), "article", "news-post2020"),
        Case("slow-but-complete", article_path("slowbutcomplete"),
             drip(same_topic, 8 * 1024, 0.05), "article", "dy-same-topic"),
        Case("retry-after-then-ok", article_path("retryafterthenok"),
             retry_after_then(dy2019, "1"), "article", "dy2019"),
        Case("redirect-on-site", article_path("redirectonsite"),
             redirect(lambda site: site.base_url + "/www.163.com/dy/article/"
                      "KEL1B2CD0556XYZ1.html", 301), "article", "dy-repost"),
        Case("meta-refresh-on-site", article_path("refreshonsite"),
             meta_refresh(lambda site: "/www.163.com/dy/article/"
                          f"{docid('refreshtarget')}.html"), "article", "mobile-2025"),
        # Hostile pages: each must end as a failures row with a readable reason.
        Case("truncated", article_path("truncated"), truncated, "truncated"),
        Case("binary", article_path("binaryashtml"), page(binary()), "not an article"),
        Case("empty", article_path("empty200"), page(b""), "not an article"),
        Case("scripts-only", article_path("scriptsonly"), page(scripts_only()),
             "not an article"),
        Case("nested-divs", article_path("nesteddivs"), page(nested_divs(100_000)),
             "not an article"),
        Case("huge-declared", article_path("hugedeclared"), huge(True), "too large"),
        Case("huge-streamed", article_path("hugestreamed"), huge(False), "too large"),
        Case("gzip-bomb", article_path("gzipbomb"), gzip_bomb(), "too large"),
        Case("redirect-loop", article_path("redirectloopa"),
             redirect(loop_target("redirectloopb")), "redirect loop"),
        Case("redirect-loop-b", article_path("redirectloopb"),
             redirect(loop_target("redirectloopa")), "redirect loop"),
        Case("redirect-self", article_path("redirectself"),
             redirect(loop_target("redirectself")), "redirect loop"),
        chain[0],
        Case("redirect-other-domain", article_path("tootherdomain"),
             redirect(lambda site: "http://other.example/www.163.com/dy/article/"
                      f"{docid('stolen')}.html"), "redirect off-site to http://other.example/"),
        Case("meta-refresh-off-site", article_path("refreshoffsite"),
             meta_refresh(lambda site: "http://other.example/www.163.com/dy/article/"
                          f"{docid('refreshstolen')}.html"),
             "redirect off-site to http://other.example/"),
        Case("redirect-localhost", article_path("tolocalhost"),
             redirect(lambda site: site.base_url.replace("127.0.0.1", "localhost")
                      + article_path("goodreference")), "redirect off-site to http://localhost"),
        Case("redirect-private-port", article_path("toprivateport"),
             redirect(lambda site: site.private_url + "/admin"),
             "redirect off-site to http://127.0.0.1:"),
        Case("redirect-private-decimal", article_path("todecimalip"),
             redirect(lambda site: site.private_url.replace("127.0.0.1", "2130706433")
                      + "/admin"), "redirect off-site to http://2130706433:"),
        Case("redirect-mapped-v6", article_path("tomappedipv6"),
             redirect(lambda site: site.private_url.replace("127.0.0.1", "[::ffff:127.0.0.1]")
                      + "/admin"), "redirect off-site to http://[::ffff:127.0.0.1]:"),
        Case("redirect-file", article_path("tofileurl"),
             redirect(lambda site: "file:///etc/passwd"), "redirect off-site to file:///"),
        Case("http-404", article_path("http404"), status(404), "HTTP 404"),
        Case("http-410", article_path("http410"), status(410), "HTTP 410"),
        Case("http-429", article_path("http429"), status(429), "HTTP 429"),
        Case("http-429-retry-after-long", article_path("http429retrylong"),
             status(429, "3600"), "HTTP 429 (Retry-After: 3600 s"),
        Case("http-500", article_path("http500"), status(500), "HTTP 500"),
        Case("http-503-retry-after", article_path("http503retry"), status(503, "1"),
             "HTTP 503"),
        Case("http-502-retry-after-date", article_path("http502retrydate", "news"),
             status(502, "Wed, 21 Oct 2099 07:28:00 GMT"), "HTTP 502 (Retry-After:"),
        Case("drip-forever", article_path("dripforever"),
             drip(reference, 16, 0.2, forever=True), "timed out"),
        Case("no-answer", article_path("noanswer"), silent(20), "timed out"),
        *chain[1:],
    ]


def offsite_links(site: HostileSite) -> dict[str, str]:
    """Links the listing itself gives to article-shaped URLs off the site: the crawler
    must not request them (the sample seeds' allow rules name no host, so they match)."""
    return {
        "http://other.example" + article_path("linkotherdomain"):
            "off-site: http://other.example/",
        site.base_url.replace("127.0.0.1", "localhost") + article_path("linklocalhost"):
            "off-site: http://localhost:",
        site.private_url + article_path("linkprivateport"): "off-site: http://127.0.0.1:",
    }


def listing(site: HostileSite) -> bytes:
    links = "\n".join(f'<li><a href="{case.path}">{case.name}</a></li>'
                      for case in site.cases.values()
                      if not case.name.startswith("chain") or case.name == "chain0")
    offsite = "\n".join(f'<li><a href="{url}">off-site</a></li>' for url in offsite_links(site))
    return f"<html><body><ul>\n{links}\n{offsite}\n</ul></body></html>".encode()


def _handler_for(site: HostileSite, routes: dict[str, Handler]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            site.hits[path] = site.hits.get(path, 0) + 1
            handler = routes.get(path)
            try:
                if handler is None:
                    send(self, 404, b"<html><body>404</body></html>")
                else:
                    handler(self, site)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the crawler gave up on us: as it should

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def _private_handler(site: HostileSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.private_hits.append(self.path)
            send(self, 200, b"<html><body>internal admin page</body></html>")

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def _start(server: ThreadingHTTPServer, name: str) -> None:
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()


@contextmanager
def serve_hostile_site() -> Iterator[HostileSite]:
    """The hostile site and the private service, each on a free port of 127.0.0.1."""
    site = HostileSite()
    site.cases = {case.name: case for case in build_cases()}
    routes: dict[str, Handler] = {case.path: case.handler for case in site.cases.values()}
    routes["/listing.html"] = lambda h, s: send(h, 200, listing(s))
    routes["/sitemap-bomb.xml"] = gzip_bomb("application/xml")
    routes["/robots.txt"] = lambda h, s: send(h, 200, b"User-agent: *\nAllow: /\n",
                                              {"Content-Type": "text/plain"})
    # The on-site redirect's target: served, but not linked from the listing.
    repost, _ = fixture("dy-repost")
    routes["/www.163.com/dy/article/KEL1B2CD0556XYZ1.html"] = page(repost)
    mobile, _ = fixture("mobile-2025")  # the meta refresh's target, not linked either
    routes[article_path("refreshtarget")] = page(mobile)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(site, routes))
    private = ThreadingHTTPServer(("127.0.0.1", 0), _private_handler(site))
    site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    site.private_url = f"http://127.0.0.1:{private.server_address[1]}"
    _start(server, "hostile-site")
    _start(private, "private-service")
    try:
        yield site
    finally:
        for each in (server, private):
            each.shutdown()
            each.server_close()


def seeds_toml(site: HostileSite) -> str:
    return f"""
[[source]]
name = "hostile"
start_urls = ["{site.base_url}/listing.html"]
sitemaps = ["{site.base_url}/sitemap-bomb.xml"]
allow = ['/www\\.163\\.com/(dy|news)/article/[0-9A-Z]{{16}}\\.html$']
profile = "netease"
"""

