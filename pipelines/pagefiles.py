"""Saved pages to extract: HTML files (gzipped or not) and WARC files.

A WARC holds many pages, each with the URL, headers and time it was fetched with;
those are exactly the arguments extraction wants, so they are read from the record
rather than asked for. Only successful HTML responses are pages: redirects, errors,
requests, metadata, revisits and non-HTML payloads are skipped.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelines.warcpages import Capture, read_warc


@dataclass(frozen=True)
class SavedPage:
    source: str  # where it came from, for messages: a file, or a WARC file and offset
    body: bytes
    url: str | None  # None: the caller decides (a --url, or the file's URI)
    content_type: str | None = None
    fetched_at: str | None = None


def read_page(path: Path) -> bytes:
    """The file's bytes, un-gzipped when they are gzip (by magic number, not name)."""
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def is_warc(path: Path) -> bool:
    """A WARC, gzipped per record or not, starts with "WARC/" once un-gzipped."""
    with path.open("rb") as file:
        head = file.read(2)
        file.seek(0)
        if head == b"\x1f\x8b":
            try:
                with gzip.GzipFile(fileobj=file) as unzipped:
                    return unzipped.read(5) == b"WARC/"
            except (OSError, EOFError):
                return False
        return file.read(5) == b"WARC/"


def warc_pages(path: Path) -> Iterator[SavedPage]:
    """The HTML pages of successful responses in a WARC, in file order
    (pipelines/warcpages.py reads it; WarcError when it cannot be read on)."""
    for item in read_warc(path):
        if isinstance(item, Capture):
            yield SavedPage(source=f"{path}@{item.offset}", body=item.body, url=item.url,
                            content_type=item.content_type, fetched_at=item.fetched_at)


def saved_pages(path: Path) -> Iterator[SavedPage]:
    """The pages in one file: every HTML response of a WARC, or the file itself."""
    if is_warc(path):
        yield from warc_pages(path)
    else:
        yield SavedPage(source=str(path), body=read_page(path), url=None)
