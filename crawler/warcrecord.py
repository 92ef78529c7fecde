"""A byte-exact record of what the crawler saw, as WARC files written while it crawls.

Off unless `-s NEWSARCHIVE_WARC_DIR=DIR` is given. Then every response the downloader
gets (listings, feeds, sitemaps, JSONP lists, robots.txt, articles, redirects, errors)
is written with the request that asked for it, as it came off the wire: placed after
HttpCompressionMiddleware (590) on the way back, the body is still compressed as the
server sent it, with its Content-Encoding. Files roll over at NEWSARCHIVE_WARC_MAX_SIZE
bytes (default 1 GiB): `DIR/newsarchive-<source>-<start time>-<pid>-00000.warc.gz`, ...
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response

from crawler.warcfiles import WarcFiles, record_id, request_record, response_record, software

DEFAULT_MAX_SIZE = 1024**3


def _pairs(headers: Any) -> list[tuple[str, str]]:
    """Scrapy Headers as (name, value) pairs, one per value (Set-Cookie stays apart)."""
    return [(name.decode("latin-1"), value.decode("latin-1"))
            for name, values in headers.items() for value in values]


class WarcRecorder:
    """Downloader middleware: each response and its request, to rotating WARC files."""

    def __init__(self, directory: Path, max_size: int) -> None:
        self.directory = directory
        self.started = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        # Each source's crawler has its own recorder, several in one process: the source
        # in the name keeps their files apart.
        self.prefix = f"newsarchive-{self.started}-{os.getpid()}"
        info = {"software": software(), "format": "WARC File Format 1.1",
                "description": "What newsarchive's crawler fetched, as it was received",
                "created": datetime.now(UTC).isoformat()}
        self.files = WarcFiles(self._path, info, max_size)

    def _path(self, number: int) -> Path:
        return self.directory / f"{self.prefix}-{number:05d}.warc.gz"

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcRecorder:
        directory = crawler.settings.get("NEWSARCHIVE_WARC_DIR")
        if not directory:
            raise NotConfigured  # quietly: with a message Scrapy warns on every crawl
        max_size = crawler.settings.getint("NEWSARCHIVE_WARC_MAX_SIZE", DEFAULT_MAX_SIZE)
        recorder = cls(Path(directory), max_size)
        crawler.signals.connect(recorder.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(recorder.spider_closed, signal=signals.spider_closed)
        return recorder

    def spider_opened(self, spider: Any) -> None:
        source = getattr(getattr(spider, "source", None), "name", None)
        if source:
            self.prefix = f"newsarchive-{source}-{self.started}-{os.getpid()}"
            self.files.info["description"] += f" (source {source})"
            self.files.info["isPartOf"] = source

    def process_response(self, request: Request, response: Response) -> Response:
        fetched_at = datetime.now(UTC).isoformat(timespec="microseconds")
        writer = self.files.writer
        protocol = getattr(response, "protocol", None) or "HTTP/1.1"
        record = response_record(writer, response.url, response.status,
                                 _pairs(response.headers), response.body, fetched_at,
                                 protocol=protocol)
        headers = _pairs(request.headers)
        if not any(name.lower() == "host" for name, _ in headers):  # Scrapy adds it later
            headers.insert(0, ("Host", urlsplit(request.url).netloc))
        asked = request_record(writer, request.url, request.method, headers, fetched_at,
                               record_id(record), body=request.body)
        self.files.write([record, asked])
        return response

    def spider_closed(self, spider: Any) -> None:
        self.files.close()
