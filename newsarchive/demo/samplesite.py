"""The bundled sample site: the test fixtures served over HTTP on 127.0.0.1.

`newsarchive demo` crawls it to show the whole flow without internet, and the crawl tests
use it as their real HTTP server. Each fixture's response.json says where and how it is
served (docs/fixtures.md).
"""

from __future__ import annotations

import hashlib
import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit


def fixtures_dir() -> Path:
    """The fixture tree: tests/fixtures in a checkout, newsarchive/fixtures when installed."""
    packaged = Path(str(resources.files("newsarchive"))) / "fixtures"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "tests" / "fixtures"


@dataclass
class Route:
    body_file: Path
    status: int
    headers: dict[str, str]
    template: bool = False
    delay: float = 0.0  # seconds to wait before answering: a slow page for the tests


@dataclass
class SampleSite:
    """Routes by path; `overrides` let a test change or add a page while the site runs."""

    routes: dict[str, Route]
    base_url: str = ""
    overrides: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) served
    port: int = 0

    def route(self, path: str) -> Route | None:
        return self.overrides.get(path) or self.routes.get(path)

    def body(self, route: Route) -> bytes:
        data = route.body_file.read_bytes()
        if route.template:
            data = data.replace(b"{base}", self.base_url.encode("ascii"))
        return data


def load_routes(root: Path | None = None) -> dict[str, Route]:
    root = root or fixtures_dir()
    routes: dict[str, Route] = {}
    for meta_file in sorted(root.glob("*/*/response.json")):
        meta = json.loads(meta_file.read_text("utf-8"))
        body_file = next(
            (p for p in meta_file.parent.iterdir() if p.name.startswith("page.")), None)
        if body_file is None:
            continue
        routes[meta["path"]] = Route(body_file, int(meta.get("status", 200)),
                                     dict(meta.get("headers", {})), bool(meta.get("template")))
    return routes


def _handler_for(site: SampleSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            site.requests.append(("GET", self.path))
            route = site.route(path)
            if route is None:
                self._send(404, {"Content-Type": "text/html; charset=utf-8"},
                           b"<html><body><h1>404 Not Found</h1></body></html>")
                return
            if route.delay:
                time.sleep(route.delay)
            body = site.body(route)
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            headers = {"ETag": etag, **route.headers}
            if route.status == 200 and self.headers.get("If-None-Match") == etag:
                self._send(304, {"ETag": etag}, b"")
                return
            self._send(route.status, headers, body)

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the crawler reports what matters

    return Handler


@contextmanager
def serve_sample_site(port: int = 0, root: Path | None = None, *,
                      tls: ssl.SSLContext | None = None,
                      base_url: str | None = None) -> Iterator[SampleSite]:
    """Serve the fixtures on http://127.0.0.1:PORT (a free port when 0) for the block's life.

    `tls` serves https instead; `base_url` is the address the pages link to when it is
    not the server's own (the proxy tests reach it as https://news.example)."""
    site = SampleSite(load_routes(root))
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(site))
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    site.base_url = base_url or f"{scheme}://127.0.0.1:{server.server_address[1]}"
    site.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="sample-site", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
