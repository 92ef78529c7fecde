"""A small forwarding HTTP proxy on 127.0.0.1 for the proxy tests: plain requests
(`GET http://host/path`) are forwarded, and `CONNECT host:443` opens a tunnel (for https),
as a local proxy (127.0.0.1:7890) or a company proxy does.

Host names are mapped to local servers (`routes`), so a crawl can fetch
`https://news.example/…` through the proxy while every packet stays on loopback: the
proxy, not the crawler, knows where news.example is. It records what it was asked, and
can demand a Proxy-Authorization header (answering 407 without it).
"""

from __future__ import annotations

import http.client
import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authorization", "proxy-connection", "te",
              "trailer", "transfer-encoding", "upgrade"}


@dataclass
class ForwardProxy:
    routes: dict[tuple[str, int], tuple[str, int]]  # (host, port) asked -> where it is
    credentials: str | None = None  # "Basic dXNlcjpwYXNz" required when set
    url: str = ""
    asked: list[tuple[str, str]] = field(default_factory=list)  # (method, target)

    def backend(self, host: str, port: int) -> tuple[str, int] | None:
        return self.routes.get((host.lower(), port))


def _handler_for(proxy: ForwardProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _authorised(self) -> bool:
            if proxy.credentials is None \
                    or self.headers.get("Proxy-Authorization") == proxy.credentials:
                return True
            self.send_response(407, "Proxy Authentication Required")
            self.send_header("Proxy-Authenticate", 'Basic realm="test"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False

        def do_CONNECT(self) -> None:
            proxy.asked.append(("CONNECT", self.path))
            if not self._authorised():
                return
            host, _, port = self.path.rpartition(":")
            backend = proxy.backend(host, int(port))
            if backend is None:
                self.send_error(502, "Bad Gateway")
                return
            upstream = socket.create_connection(backend, timeout=30)
            self.send_response(200, "Connection established")
            self.end_headers()
            self.close_connection = True
            _relay(self.connection, upstream)

        def do_GET(self) -> None:
            proxy.asked.append(("GET", self.path))
            if not self._authorised():
                return
            target = urlsplit(self.path)
            backend = proxy.backend(target.hostname or "", target.port or 80)
            if target.scheme != "http" or backend is None:
                self.send_error(502, "Bad Gateway")
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            upstream = http.client.HTTPConnection(*backend, timeout=30)
            try:
                path = target.path + (f"?{target.query}" if target.query else "")
                upstream.request("GET", path or "/", headers=headers)
                answer = upstream.getresponse()
                body = answer.read()
            finally:
                upstream.close()
            self.send_response(answer.status, answer.reason)
            for name, value in answer.getheaders():
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    sockets = [client, upstream]
    try:
        while True:
            readable, _, _ = select.select(sockets, [], [], 30)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (upstream if sock is client else client).sendall(data)
    except OSError:
        return
    finally:
        upstream.close()


@contextmanager
def serve_proxy(routes: dict[tuple[str, int], tuple[str, int]],
                credentials: str | None = None) -> Iterator[ForwardProxy]:
    proxy = ForwardProxy(routes, credentials)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(proxy))
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
