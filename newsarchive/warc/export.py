"""The archive's pages as a WARC: what a researcher can cite, replay or hand over.

Every stored page becomes a `response` record (the status, the headers and the body
bytes as the crawler received them, at the URL fetched and the time it was fetched), a
`request` record for it and a `metadata` record with what extraction made of it. Pages
are read from a cursor and written one at a time: memory stays flat whatever the size
of the archive.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils

from archive.pagecodec import decompress_page
from archive.runs import now_iso
from crawler.warcfiles import (
    WarcFiles,
    metadata_record,
    record_id,
    request_record,
    response_record,
    software,
)

COLUMNS = ("id", "url", "final_url", "status", "headers", "fetched_at", "body", "codec",
           "profile", "template", "article_id", "source", "canonical_url", "run_id")


@dataclass
class ExportReport:
    pages: int = 0
    articles: int = 0  # pages that hold an article
    files: list[Path] = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "files": [str(p) for p in self.files]}


def numbered(output: Path, rolls_over: bool) -> Callable[[int], Path]:
    """The file names: `output` itself, or with --max-size `NAME-00000.warc.gz`, ..."""
    if not rolls_over:
        return lambda n: output
    name = output.name
    stem, suffix = (name[:-len(".warc.gz")], ".warc.gz") if name.endswith(".warc.gz") \
        else (output.stem, output.suffix or ".warc.gz")
    return lambda n: output.with_name(f"{stem}-{n:05d}{suffix}")


def stored_pages(db: sqlite_utils.Database, *, source: str | None = None,
                 since: str | None = None, before: str | None = None,
                 ) -> Iterator[dict[str, Any]]:
    """The selected pages in id order, one row at a time (a cursor, never fetchall).

    `since`, `before`: ISO times in UTC; fetched at or after `since`, before `before`.
    `source`: the seeds source (or import) whose run stored the page."""
    where, params = [], []
    if source:
        where.append("r.source = ?")
        params.append(source)
    if since:
        where.append("p.fetched_at >= ?")
        params.append(since)
    if before:
        where.append("p.fetched_at < ?")
        params.append(before)
    sql = ("select p.id, p.url, p.final_url, p.status, p.headers, p.fetched_at, p.body, "
           "p.codec, p.profile, p.template, p.article_id, r.source, a.canonical_url, "
           "p.run_id from pages p left join crawl_runs r on r.id = p.run_id "
           "left join articles a on a.id = p.article_id")
    if where:
        sql += " where " + " and ".join(where)
    for values in db.execute(sql + " order by p.id", params):
        yield dict(zip(COLUMNS, values, strict=True))


def page_records(files: WarcFiles, page: dict[str, Any], body: bytes) -> list[Any]:
    """A stored page's response, request and metadata records."""
    writer = files.writer
    url = page["final_url"] or page["url"]
    headers = json.loads(page["headers"] or "{}").items()
    # Scrapy hands over a decompressed body and drops Content-Encoding: the body as
    # stored is what the headers now describe (encoded=True keeps any it left).
    response = response_record(writer, url, page["status"], headers, body,
                               page["fetched_at"])
    concurrent = record_id(response)
    request = request_record(writer, url, "GET", [("Host", urlsplit(url).netloc)],
                             page["fetched_at"], concurrent)
    metadata = metadata_record(writer, url, {
        "requested-url": page["url"] if page["url"] != url else None,
        "source": page["source"],
        "profile": page["profile"],
        "template": page["template"],
        "article-id": page["article_id"],
        "canonical-url": page["canonical_url"],
        "newsarchive-page-id": page["id"],
        "newsarchive-run-id": page["run_id"],
    }, page["fetched_at"], concurrent)
    return [response, request, metadata]


def export_warc(db: sqlite_utils.Database, output: Path, *, source: str | None = None,
                since: str | None = None, before: str | None = None,
                max_size: int | None = None,
                progress: Callable[[int], None] | None = None) -> ExportReport:
    """Write the selected pages to `output` (WARC/1.1, gzip per record), rolled over at
    `max_size` bytes to numbered files; what was written."""
    started = time.monotonic()
    report = ExportReport()
    info = {
        "software": software(),
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
                      "warc-format/warc-1.1/",
        "description": "Pages archived by newsarchive: each response as the crawler "
                       "received it, a request record, and a metadata record with what "
                       "extraction made of it (canonical URL, profile, template, article id).",
        "isPartOf": Path(db.conn.execute("pragma database_list").fetchone()[2] or "").name or None,
        "selection": json.dumps({"source": source, "since": since, "before": before}),
        "created": now_iso(),
    }
    files = WarcFiles(numbered(output, max_size is not None), info, max_size)
    try:
        for page in stored_pages(db, source=source, since=since, before=before):
            body = decompress_page(db, (page["body"], page["codec"]))
            files.write(page_records(files, page, body))
            report.pages += 1
            report.articles += page["article_id"] is not None
            if progress is not None:
                progress(report.pages)
        if not files.paths:  # nothing selected: still a valid WARC, with its warcinfo
            files.write([])
    finally:
        files.close()
    report.files = files.paths
    report.bytes = files.size
    report.seconds = round(time.monotonic() - started, 2)
    return report
