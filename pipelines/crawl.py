"""The Scrapy item pipelines: extract (in a process pool), then store (one transaction)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from archive import open_archive
from archive.store import ArchiveWriter
from crawler.items import AliasItem, FailureItem, ListingItem, PageItem, RemovedItem
from pipelines.pool import extraction_pool
from pipelines.work import Extracted, extract_and_fingerprint

__all__ = ["ExtractPipeline", "Extracted", "StorePipeline", "extract_and_fingerprint"]


class ExtractPipeline:
    """Fill `PageItem.article`, its fingerprint, its segmented title and text and the
    compressed page, off the reactor thread (pipelines/work.py)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(crawler.settings.getint("NEWSARCHIVE_EXTRACT_WORKERS", 0))

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem):
            return item
        page = item.page
        loop = asyncio.get_running_loop()
        try:
            item.article, item.fingerprint, item.segmented, item.body_blob = (
                await loop.run_in_executor(
                    extraction_pool(self.workers), extract_and_fingerprint, page.body,
                    page.final_url, page.content_type, item.profile, page.fetched_at))
        except Exception as exc:  # a worker crash must not end the crawl
            item.extract_error = f"extraction failed: {type(exc).__name__}: {exc}"[:500]
        return item


class StorePipeline:
    """Write pages, articles and failures; open and close the run's `crawl_runs` row."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.archive: ArchiveWriter | None = None
        self.run_id: int | None = None
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        source = self.crawler.spider.source
        self.archive = ArchiveWriter(open_archive(self.crawler.settings.get("NEWSARCHIVE_DB")),
                                     revisit_after=source.revisit)
        self.run_id = self.archive.start_run(source.name, pid=os.getpid())
        self.crawler.stats.set_value("newsarchive/run_id", self.run_id)

    def process_item(self, item: Any) -> Any:
        assert self.archive is not None
        if isinstance(item, PageItem):
            self._store(item)
        elif isinstance(item, FailureItem):
            self.archive.record_failure(self.run_id, item.url, item.reason, item.status)
        elif isinstance(item, RemovedItem):
            self.archive.mark_removed(self.run_id, item.url, item.reason)
        elif isinstance(item, AliasItem):
            self.archive.link_url(item.url, item.canonical_url)
        elif isinstance(item, ListingItem):
            self.archive.save_listing_state(self.run_id, item.url, item.status, item.etag,
                                            item.last_modified)
        return item

    def _store(self, item: PageItem) -> None:
        assert self.archive is not None
        item.outcome = self.archive.store(self.run_id, item.source, item.page, item.article,
                                          fingerprint=item.fingerprint, revisit=item.revisit,
                                          segmented=item.segmented, body_blob=item.body_blob,
                                          profile=item.profile)
        if item.extract_error:
            self.archive.record_failure(self.run_id, item.page.url, item.extract_error,
                                        item.page.status)
        elif item.outcome == "not-article":
            self.archive.record_failure(self.run_id, item.page.url,
                                        "not an article: no body text found", item.page.status)

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.run_id is None or self.archive is None:
            return
        counts = self.archive.run_counts(self.run_id)
        if reason != "finished":
            status = "interrupted" if reason == "shutdown" else "failed"
        elif counts["listings_read"] == 0 and counts["pages_fetched"] == 0:
            status = "failed"  # not one listing, feed or sitemap could be read
        else:
            status = "ok"
        final = self.archive.finish_run(self.run_id, status, reason)
        self.crawler.stats.set_value("newsarchive/run_status", status)
        for key, value in final.items():
            self.crawler.stats.set_value(f"newsarchive/{key}", value)
