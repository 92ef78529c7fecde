"""A crawl that cannot reach its sites says why, one line per cause, after the table,
and prints no traceback unless --verbose: as on a machine without a network (the DNS
stub, tests/dnsstub.py, knows no name), beside a site that is down (a closed port), a
server that never answers (timeout), a server that speaks no TLS, and a proxy that is
not running."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conftest import run_cli

TESTS = Path(__file__).parent
STUB = ("-s", "TWISTED_DNS_RESOLVER=dnsstub.StubResolver", "-s", "RETRY_TIMES=1",
        "-s", "DOWNLOAD_TIMEOUT=2", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def plain_http_server() -> Iterator[int]:
    """A port that answers plain HTTP to anything: a TLS handshake with it fails."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)

    def answer() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            with client:
                client.recv(4096)
                client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=answer, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def seeds(tmp: Path, down: int, silent: int, proxy: int, tls: int) -> Path:
    directory = tmp / "seeds"
    directory.mkdir()
    (directory / "s.toml").write_text(f"""
[[source]]
name = "netease-tech"
start_urls = ["https://tech.163.com/", "https://tech.163.com/special/2/"]
allow = ['^https://www\\.163\\.com/dy/article/[0-9A-Z]{{16}}\\.html$']

[[source]]
name = "down"
start_urls = ["http://127.0.0.1:{down}/news/"]
allow = ['/article/']

[[source]]
name = "silent"
start_urls = ["http://127.0.0.1:{silent}/news/"]
allow = ['/article/']

[[source]]
name = "tls"
start_urls = ["https://127.0.0.1:{tls}/news/"]
allow = ['/article/']

[[source]]
name = "proxied"
start_urls = ["http://news.example/"]
allow = ['/article/']
proxy = "http://127.0.0.1:{proxy}"
""", "utf-8")
    return directory


def crawl(tmp: Path, *extra: str) -> tuple[int, list[str]]:
    down, proxy = closed_port(), closed_port()
    with socket.socket() as silent, plain_http_server() as tls:  # silent: never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS),
                                                           os.environ.get("PYTHONPATH")])),
               "NEWSARCHIVE_TEST_DNS": "{}", "COLUMNS": "200",
               **{name: "" for name in ("http_proxy", "https_proxy", "no_proxy")}}
        result = run_cli("crawl", "--db", str(tmp / "archive.db"), "--seeds",
                         str(seeds(tmp, down, silent.getsockname()[1], proxy, tls)), *STUB, *extra,
                         env=env)
    return result.returncode, result.stderr.splitlines()


def test_one_line_per_cause_and_no_traceback(tmp_path: Path) -> None:
    code, lines = crawl(tmp_path)
    assert code == 1
    # The table and nothing before it (its title, wrapped to its width): no log line.
    top = next(i for i, line in enumerate(lines) if line.startswith("┏"))
    assert "".join(lines[:top]).replace(" ", "") == f"crawlinto{tmp_path / 'archive.db'}"
    table_end = next(i for i, line in enumerate(lines) if line.startswith("└"))
    assert all(line[0] in "┃┡│" for line in lines[top + 1:table_end]), lines
    assert not any("Traceback" in line or line.startswith("  File ") for line in lines)
    causes = lines[table_end + 1:]
    assert causes[0] == ("tech.163.com: DNS lookup failed (2 URLs): no network, or a proxy "
                         "is needed (https_proxy)")
    proxy_line = next(line for line in causes if line.startswith("news.example"))
    assert sorted(causes[1:]) == sorted([
        "127.0.0.1: connection refused (1 URL): nothing answers there: the site is down, "
        "or a proxy is needed (https_proxy)",
        "127.0.0.1: timed out after 2 s (1 URL): the site or the network is slow or "
        "blocked: try again later, or a proxy (https_proxy)",
        "127.0.0.1: TLS handshake failed: wrong version number (1 URL): the secure connection "
        "failed: a proxy or firewall intercepting https, or the site's certificate",
        proxy_line,
    ])
    assert proxy_line.startswith("news.example: proxy http://127.0.0.1:")
    assert proxy_line.endswith(": connection refused (1 URL): is the proxy running and "
                               "reachable? (http_proxy, https_proxy or the seeds' proxy key)")


def test_verbose_keeps_the_log(tmp_path: Path) -> None:
    _, lines = crawl(tmp_path, "--verbose")
    assert any("Traceback" in line for line in lines)
    assert "tech.163.com: DNS lookup failed (2 URLs): no network, or a proxy is needed " \
        "(https_proxy)" in lines
