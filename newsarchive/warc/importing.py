"""Taking a WARC into the archive, the way a crawl takes what it fetches.

Each HTML page of the file goes through what a crawled page goes through: the worker job
(crawler/work.py: extraction, fingerprint, search segmentation, compression) in the
process pool, then ArchiveWriter.store, one transaction per page (dedup, near-duplicate
index, search index). Each imported file is a `crawl_runs` row of its own, so `runs`,
`stats` and extraction health see imports as they see crawls.

A capture already stored (the same URL at the same time) is skipped, so importing a file
twice adds nothing. A later capture of a URL that leads to an archived article is stored
as a revisit is (an edit becomes a version with a diff); an older one is skipped. A file
that cannot be read on ends the import with its reason; every page before it is kept.
"""

from __future__ import annotations

import os
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive import open_archive
from archive.pagecodec import site_of
from archive.store import ArchiveWriter, FetchedPage
from crawler.pool import extraction_pool, run_extraction
from pipelines.warcpages import Capture, Skipped, WarcError, read_warc

NOT_ARTICLE = "not an article: no body text found"


@dataclass
class ImportReport:
    """What one file's import did."""

    file: str
    source: str
    run_id: int | None = None
    records: int = 0
    pages: int = 0  # HTML pages stored (with or without an article)
    outcomes: Counter[str] = field(default_factory=Counter)  # new, duplicate, ...
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> records
    failed: list[dict[str, str]] = field(default_factory=list)  # url, reason
    error: str | None = None  # why the file could not be read to its end
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and not self.interrupted

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "outcomes": dict(self.outcomes),
                "skipped": dict(self.skipped), "ok": self.ok}


def default_source(path: Path) -> str:
    """The source an import is recorded under when none is named: the file's name
    without .warc.gz / .warc."""
    name = path.name
    for suffix in (".gz", ".warc", ".arc"):
        name = name.removesuffix(suffix)
    return name or "warc-import"


@dataclass
class _Pending:
    capture: Capture
    revisit: bool  # a later capture of an archived article: stored as a revisit
    future: Future


class Importer:
    """Imports WARC files into one archive, through the extraction pool."""

    def __init__(self, db_path: Path, *, workers: int = 0,
                 progress: Callable[[ImportReport, int], None] | None = None) -> None:
        self.db_path = db_path
        self.writer = ArchiveWriter(open_archive(db_path), train_in_background=True)
        self.workers = workers
        self.progress = progress
        self.pool = extraction_pool(workers)
        # A bounded window of pages in flight: a WARC may hold far more than memory.
        self.window = 4 * (workers or os.cpu_count() or 1)

    def import_file(self, path: Path, *, source: str | None = None,
                    profile: str | None = None) -> ImportReport:
        """Import one file; its report. Never raises for a bad file: report.error."""
        started = time.monotonic()
        report = ImportReport(file=str(path), source=source or default_source(path))
        report.run_id = self.writer.start_run(report.source, pid=os.getpid())
        pending: deque[_Pending] = deque()
        seen: set[str] = set()  # URLs of this file already taken
        position = [0]
        try:
            for item in read_warc(path, position):
                report.records += 1
                admitted = self._admit(item, report, seen)
                if admitted is not None:
                    pending.append(self._submit(*admitted, profile))
                while len(pending) >= self.window:
                    self._settle(pending.popleft(), report, profile)
                if self.progress is not None:
                    self.progress(report, position[0])
        except WarcError as exc:
            report.error = str(exc)
        except KeyboardInterrupt:
            report.interrupted = True
            raise
        finally:
            if not report.interrupted:
                while pending:
                    self._settle(pending.popleft(), report, profile)
            self._finish(report, started)
        return report

    def _admit(self, item: Capture | Skipped, report: ImportReport,
               seen: set[str]) -> tuple[Capture, bool] | None:
        """(the capture to import, whether it is a revisit of an archived article), or
        None with the reason counted."""
        if isinstance(item, Skipped):
            report.skipped[item.reason] += 1
            return None
        url = item.requested_url or item.url
        if self.writer.db.execute("select 1 from pages where url = ? and fetched_at = ? "
                                  "limit 1", [url, item.fetched_at]).fetchone():
            report.skipped["already imported"] += 1
            return None
        revisit = url in seen or self.writer.is_archived(url)
        if revisit and url not in seen and not self._newer(url, item.fetched_at):
            report.skipped["already archived (a newer capture)"] += 1
            return None
        seen.add(url)
        return item, revisit

    def _newer(self, url: str, fetched_at: str) -> bool:
        """Whether a capture at `fetched_at` is newer than what the archive last saw of
        the article at `url`: then it is stored as a revisit would be."""
        row = self.writer.db.execute(
            "select max(coalesce(a.last_checked_at, a.fetched_at)) from article_urls u "
            "join articles a on a.id = u.article_id where u.url = ?", [url]).fetchone()
        return row is None or row[0] is None or fetched_at > row[0]

    def _submit(self, capture: Capture, revisit: bool, profile: str | None) -> _Pending:
        chosen = profile or capture.profile
        future = self.pool.submit(
            run_extraction, capture.body, capture.url, capture.content_type, chosen,
            capture.fetched_at, str(self.db_path.resolve()),
            site_of(capture.requested_url or capture.url), None)
        return _Pending(capture, revisit, future)

    def _settle(self, pending: _Pending, report: ImportReport, profile: str | None) -> None:
        """Store one page as the crawl's StorePipeline does."""
        capture = pending.capture
        page = FetchedPage(url=capture.requested_url or capture.url, final_url=capture.url,
                           status=capture.status, headers=capture.headers, body=capture.body,
                           fetched_at=capture.fetched_at)
        writer, run_id = self.writer, report.run_id
        try:
            article, print_, segmented, blob, codec, _ = pending.future.result()
        except Exception as exc:  # a worker crash must not end the import
            reason = f"extraction failed: {type(exc).__name__}: {exc}"[:500]
            writer.store(run_id, report.source, page, None, profile=profile or capture.profile)
            writer.record_failure(run_id, page.url, reason, page.status)
            report.failed.append({"url": page.url, "reason": reason})
            report.pages += 1
            return
        outcome = writer.store(run_id, report.source, page, article, fingerprint=print_,
                               revisit=pending.revisit, segmented=segmented,
                               body_blob=blob, body_codec=codec,
                               profile=profile or capture.profile)
        report.pages += 1
        report.outcomes[outcome] += 1
        if outcome == "not-article":
            writer.record_failure(run_id, page.url, NOT_ARTICLE, page.status)

    def _finish(self, report: ImportReport, started: float) -> None:
        assert report.run_id is not None
        if report.interrupted:
            status, reason = "interrupted", "shutdown"
        elif report.error:
            status, reason = "failed", f"import stopped: {report.error}"[:500]
        else:
            status, reason = "ok", "finished"
        self.writer.finish()
        self.writer.finish_run(report.run_id, status, reason)
        report.seconds = round(time.monotonic() - started, 2)


def import_warcs(db_path: Path, paths: list[Path], *, source: str | None = None,
                 profile: str | None = None, workers: int = 0,
                 progress: Callable[[ImportReport, int], None] | None = None,
                 ) -> list[ImportReport]:
    """Import each file in turn (one run each); their reports."""
    importer = Importer(db_path, workers=workers, progress=progress)
    return [importer.import_file(path, source=source, profile=profile) for path in paths]
