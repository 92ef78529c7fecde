"""WARC files as newsarchive writes them: WARC/1.1, gzip per record, rolled over by size.

Both the export of the archive (newsarchive/warc/export.py) and the crawl-time record
(crawler/warcrecord.py) write through here, so their files look alike: a `warcinfo`
record at the head of each file, then per page a `response` record (status line, headers
and body), a `request` record and, for an export, a `metadata` record, each its own gzip
member (standard tools seek to a record by its offset), with block and payload digests
(warcio's WARCWriter computes them).

A page's records are never split across files: a file is closed once it reaches
`max_size`, after the page that crossed it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipelines.warcpages import body_headers

WARC_VERSION = "1.1"
def warc_date(iso: str) -> str:
    """An ISO 8601 time (as the archive stores them; naive is UTC) as a WARC-Date: UTC,
    with a Z."""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


class WarcFiles:
    """WARC files written one page (a group of records) at a time, rolled over at
    `max_size` bytes to the next path `path_for(n)` gives; each opens with a warcinfo
    record made of `info`."""

    def __init__(self, path_for: Callable[[int], Path], info: Mapping[str, str],
                 max_size: int | None = None) -> None:
        self.path_for = path_for
        self.info = dict(info)
        self.max_size = max_size
        self.paths: list[Path] = []
        self._file: IO[bytes] | None = None
        self._writer: WARCWriter | None = None
        self.records = 0

    @property
    def writer(self) -> WARCWriter:
        """The record builder (its records go to whichever file is open)."""
        if self._writer is None:
            self._writer = WARCWriter(None, gzip=True, warc_version=WARC_VERSION)
        return self._writer

    def write(self, records: list[ArcWarcRecord]) -> None:
        """Write one page's records to the open file, opening the next one first when
        there is none; close it once it reached max_size."""
        if self._file is None:
            self._open()
        assert self._file is not None
        for record in records:
            self.writer.write_record(record)
            self.records += 1
        if self.max_size is not None and self._file.tell() >= self.max_size:
            self.close()

    def _open(self) -> None:
        path = self.path_for(len(self.paths))
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("wb")
        self.paths.append(path)
        self.writer.out = self._file
        self.writer.write_record(self.writer.create_warcinfo_record(path.name, self.info))
        self.records += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    @property
    def size(self) -> int:
        """Bytes written so far, over every file."""
        return sum(p.stat().st_size for p in self.paths if p.exists())


def software() -> str:
    """What wrote the file, for warcinfo's `software` field."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("newsarchive")
    except PackageNotFoundError:  # a bare checkout
        ours = "unknown"
    return f"newsarchive/{ours} warcio/{version('warcio')}"


def response_record(writer: WARCWriter, url: str, status: int,
                    headers: Iterable[tuple[str, str]], body: bytes, fetched_at: str,
                    *, encoded: bool = True, protocol: str = "HTTP/1.1") -> ArcWarcRecord:
    """A `response` record of what the crawler received (body as it was handed over)."""
    http = StatusAndHeaders(status_line(status), body_headers(headers, len(body), encoded),
                            protocol=protocol)
    return writer.create_warc_record(url, "response", payload=BytesIO(body),
                                     length=len(body), http_headers=http,
                                     warc_headers_dict={"WARC-Date": warc_date(fetched_at)})


def request_record(writer: WARCWriter, url: str, method: str,
                   headers: Iterable[tuple[str, str]], fetched_at: str,
                   concurrent_to: str, body: bytes = b"") -> ArcWarcRecord:
    """A `request` record: the request line and the headers it was sent with."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    http = StatusAndHeaders(f"{method} {target} HTTP/1.1", list(headers),
                            protocol="", is_http_request=True)
    return writer.create_warc_record(url, "request", payload=BytesIO(body),
                                     length=len(body), http_headers=http,
                                     warc_headers_dict={"WARC-Date": warc_date(fetched_at),
                                                        "WARC-Concurrent-To": concurrent_to})


def metadata_record(writer: WARCWriter, url: str, fields: Mapping[str, object],
                    fetched_at: str, concurrent_to: str) -> ArcWarcRecord:
    """A `metadata` record (application/warc-fields: one `name: value` a line)."""
    text = "".join(f"{name}: {value}\r\n" for name, value in fields.items()
                   if value is not None)
    block = text.encode("utf-8")
    return writer.create_warc_record(url, "metadata", payload=BytesIO(block),
                                     length=len(block),
                                     warc_content_type="application/warc-fields",
                                     warc_headers_dict={"WARC-Date": warc_date(fetched_at),
                                                        "WARC-Concurrent-To": concurrent_to})


def record_id(record: ArcWarcRecord) -> str:
    return record.rec_headers.get_header("WARC-Record-ID")
