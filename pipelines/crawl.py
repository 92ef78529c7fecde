"""The Scrapy item pipelines: extract (in a process pool), then store (one transaction)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from archive import open_archive
from archive.store import ArchiveWriter
from crawler.items import FailureItem, PageItem
from pipelines.extract import extract_article
from pipelines.pool import extraction_pool


class ExtractPipeline:
    """Fill `PageItem.article` by running extraction off the reactor thread."""

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
            item.article = await loop.run_in_executor(
                extraction_pool(self.workers), _extract, page.body, page.final_url,
                page.content_type, item.profile, page.fetched_at,
            )
        except Exception as exc:  # a worker crash must not end the crawl
            item.extract_error = f"extraction failed: {type(exc).__name__}: {exc}"[:500]
        return item


def _extract(body: bytes, url: str, content_type: str | None, profile: str | None,
             fetched_at: str) -> Any:
    return extract_article(body, url, content_type=content_type, profile=profile,
                           fetched_at=fetched_at)


class StorePipeline:
    """Write pages, articles and failures; open and close the run's `crawl_runs` row."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.archive = ArchiveWriter(open_archive(crawler.settings.get("NEWSARCHIVE_DB")))
        self.run_id: int | None = None
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        source = self.crawler.spider.source.name
        self.run_id = self.archive.start_run(source, pid=os.getpid())
        self.crawler.stats.set_value("newsarchive/run_id", self.run_id)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, FailureItem):
            self.archive.record_failure(self.run_id, item.url, item.reason, item.status)
        elif isinstance(item, PageItem):
            self._store(item)
        return item

    def _store(self, item: PageItem) -> None:
        item.outcome = self.archive.store(self.run_id, item.source, item.page, item.article)
        if item.extract_error:
            self.archive.record_failure(self.run_id, item.page.url, item.extract_error,
                                        item.page.status)
        elif item.outcome == "not-article":
            self.archive.record_failure(self.run_id, item.page.url,
                                        "not an article: no body text found", item.page.status)

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.run_id is None:
            return
        counts = self.archive.run_counts(self.run_id)
        if reason != "finished":
            status = "interrupted" if reason == "shutdown" else "failed"
        elif counts["pages_fetched"] == 0 and counts["failures"] > 0:
            status = "failed"  # nothing could be fetched at all
        else:
            status = "ok"
        final = self.archive.finish_run(self.run_id, status, reason)
        self.crawler.stats.set_value("newsarchive/run_status", status)
        for key, value in final.items():
            self.crawler.stats.set_value(f"newsarchive/{key}", value)
