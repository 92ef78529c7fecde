"""The Scrapy item pipelines: extract (in a process pool), then store (one transaction)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.utils.defer import _schedule_coro

from archive import open_archive
from archive.db import resolve_db_path
from archive.pagecodec import site_of
from archive.store import ArchiveWriter
from crawler.items import AliasItem, FailureItem, ListingItem, PageItem, RemovedItem
from crawler.pool import run_extraction, start_extraction_pool
from crawler.reasons import is_transient
from pipelines.urls import canonical_url_for

__all__ = ["ExtractPipeline", "StorePipeline"]


# Requests whose response is a page to extract (crawler/spiders/news.py).
PAGE_KINDS = ("article", "revisit")


class ExtractPipeline:
    """Fill `PageItem.article`, its fingerprint, its segmented title and text and the
    compressed page, off the reactor thread (crawler/work.py).

    The extraction pool starts when the first page request is scheduled, in the
    background (crawler.pool.start_extraction_pool), so its start-up overlaps that
    page's fetching; a run that finds nothing new starts no worker."""

    def __init__(self, workers: int, archive: str | None = None) -> None:
        self.workers = workers
        self.archive = archive  # its path: workers read the sites' page dictionaries
        self._reader: sqlite3.Connection | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        pipeline = cls(crawler.settings.getint("NEWSARCHIVE_EXTRACT_WORKERS", 0),
                       str(resolve_db_path(crawler.settings.get("NEWSARCHIVE_DB")).resolve()))
        crawler.signals.connect(pipeline.request_scheduled, signal=signals.request_scheduled)
        return pipeline

    def request_scheduled(self, request: Any, **_: Any) -> None:
        if request.meta.get("kind") in PAGE_KINDS:
            start_extraction_pool(self.workers)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem):
            return item
        page = item.page
        loop = asyncio.get_running_loop()
        previous = self._stored_text(page.url) if item.revisit else None
        try:
            pool = await asyncio.wrap_future(start_extraction_pool(self.workers))
            (item.article, item.fingerprint, item.segmented, item.body_blob,
             item.body_codec, before) = await loop.run_in_executor(
                pool, run_extraction, page.body, page.final_url,
                page.content_type, item.profile, page.fetched_at, self.archive,
                site_of(page.url), previous)
        except Exception as exc:  # a worker crash must not end the crawl
            item.extract_error = f"extraction failed: {type(exc).__name__}: {exc}"[:500]
        else:
            if previous is not None and before is not None:
                item.previous_segmented = (previous, before)
        return item

    def _stored_text(self, url: str) -> tuple[str | None, str | None] | None:
        """The archived (title, text) of the article at `url`: what a revision of it
        will replace in the search index, segmented in the worker with the page."""
        if not self.archive:
            return None
        if self._reader is None:
            self._reader = sqlite3.connect(self.archive, timeout=30)
            self._reader.execute("pragma query_only = 1")
        row = self._reader.execute(
            "select a.title, a.text from article_urls u join articles a "
            "on a.id = u.article_id where u.url = ?", [url]).fetchone()
        return (row[0], row[1]) if row else None


class StorePipeline:
    """Write pages, articles and failures; open and close the run's `crawl_runs` row."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.archive: ArchiveWriter | None = None
        self.run_id: int | None = None
        # Listings read this run (200) and what failed, by URL (True: may go away by
        # itself), to decide at the end which listings' validators to keep.
        self.listings: dict[str, ListingItem] = {}
        self.not_modified: set[str] = set()
        self.failed: dict[str, bool] = {}
        self.disk_full: str | None = None  # why the crawl stopped, once the disk is full
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        source = self.crawler.spider.source
        self.archive = ArchiveWriter(open_archive(self.crawler.settings.get("NEWSARCHIVE_DB")),
                                     revisit_after=source.revisit, train_in_background=True)
        self.run_id = self.archive.start_run(source.name, pid=os.getpid())
        self.crawler.stats.set_value("newsarchive/run_id", self.run_id)

    def process_item(self, item: Any) -> Any:
        """Store the item; on a full disk, stop the crawl (the item's transaction rolled
        back, so the archive stays whole and the next run fetches that page again)."""
        if self.disk_full:
            return item  # the crawl is stopping: nothing more can be written
        try:
            return self._process(item)
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_FULL:
                raise
            self._stop_on_full_disk(exc)
            return item

    def _stop_on_full_disk(self, error: sqlite3.OperationalError) -> None:
        db = resolve_db_path(self.crawler.settings.get("NEWSARCHIVE_DB"))
        self.disk_full = (f"disk full: the disk holding {db} has no room left ({error}); "
                          "the archive is intact: free some space and run again, the next "
                          "run continues where this one stopped")
        self.crawler.stats.set_value("newsarchive/disk_full", self.disk_full)
        _schedule_coro(self.crawler.engine.close_spider_async(reason="disk full"))

    def _process(self, item: Any) -> Any:
        assert self.archive is not None
        if isinstance(item, PageItem):
            self._store(item)
        elif isinstance(item, FailureItem):
            self.archive.record_failure(self.run_id, item.url, item.reason, item.status)
            self.failed[item.url] = is_transient(item.reason, item.status)
        elif isinstance(item, RemovedItem):
            self.archive.mark_removed(self.run_id, item.url, item.reason)
        elif isinstance(item, AliasItem):
            self.archive.link_url(item.url, item.canonical_url)
        elif isinstance(item, ListingItem):
            if item.status == 304:
                self.not_modified.add(item.url)
                self.archive.save_listing_state(self.run_id, item.url, 304, None, None)
            else:
                # Its validators wait for the end of the run (keep_settled_validators).
                self.listings[item.url] = item
                self.archive.save_listing_state(self.run_id, item.url, item.status, None,
                                                None)
        return item

    def _store(self, item: PageItem) -> None:
        assert self.archive is not None
        item.outcome = self.archive.store(self.run_id, item.source, item.page, item.article,
                                          fingerprint=item.fingerprint, revisit=item.revisit,
                                          segmented=item.segmented, body_blob=item.body_blob,
                                          body_codec=item.body_codec, profile=item.profile,
                                          previous_segmented=item.previous_segmented)
        if item.extract_error:
            self.archive.record_failure(self.run_id, item.page.url, item.extract_error,
                                        item.page.status)
            self.failed[item.page.url] = True
        elif item.outcome == "not-article":
            self.failed[item.page.url] = False
            self.archive.record_failure(self.run_id, item.page.url,
                                        "not an article: no body text found", item.page.status)

    def keep_settled_validators(self) -> None:
        """Keep the validators (ETag, Last-Modified) of each listing read this run whose
        every article is archived or failed for good, and whose next pages or
        sub-sitemaps are settled too. A listing that answers 304 next run is not read,
        so keeping them earlier would hide for good what a killed run, max_articles or a
        timeout left behind."""
        assert self.archive is not None
        profile = self.crawler.spider.source.profile
        settled: dict[str, bool] = {}

        def listing_settled(url: str, seen: frozenset[str]) -> bool:
            if url in self.not_modified or url in seen:
                return True
            if url not in self.listings:  # not read: failed, held back or beyond the depth
                return not self.failed.get(url, False)
            if url not in settled:
                listing = self.listings[url]
                settled[url] = all(self._article_settled(u, profile) for u in listing.links) \
                    and all(listing_settled(c, seen | {url}) for c in listing.children)
            return settled[url]

        for url, listing in self.listings.items():
            if (listing.etag or listing.last_modified) and listing_settled(url, frozenset()):
                self.archive.keep_listing_validators(url, listing.etag, listing.last_modified)

    def _article_settled(self, url: str, profile: str | None) -> bool:
        assert self.archive is not None
        if self.archive.is_archived(url) or self.archive.is_archived(
                canonical_url_for(url, profile)):
            return True
        return url in self.failed and not self.failed[url]

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.run_id is None or self.archive is None:
            return
        self.archive.finish()
        if self.disk_full:
            self.crawler.stats.set_value("newsarchive/run_status", "failed")
            # A few bytes may be free again; if not, the next run closes the run row.
            with contextlib.suppress(sqlite3.OperationalError):
                self.archive.finish_run(self.run_id, "failed", self.disk_full)
            return
        if reason == "finished":  # an interrupted run leaves requests unanswered
            self.keep_settled_validators()
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
