"""Spider middleware deciding which article requests go out at all."""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from archive import open_archive
from archive.store import ArchiveWriter


class ArticleRequestFilter(BaseSpiderMiddleware):
    """Drop article requests for URLs already archived, and stop at the source's max_articles.

    Listing, feed and sitemap requests pass untouched: they are read on every run.
    """

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self._archive: ArchiveWriter | None = None
        self._scheduled: set[str] = set()

    @property
    def archive(self) -> ArchiveWriter:
        if self._archive is None:
            self._archive = ArchiveWriter(open_archive(self.crawler.settings.get("NEWSARCHIVE_DB")))
        return self._archive

    def get_processed_request(self, request: Request, response: Response | None) -> Request | None:
        if request.meta.get("kind") != "article":
            return request
        stats = self.crawler.stats
        if self.archive.is_archived(request.url):
            stats.inc_value("newsarchive/skipped_archived")
            return None
        if request.url in self._scheduled:
            return request  # a second discovery of the same URL: the dupefilter drops it
        limit = self.crawler.spider.source.max_articles
        if limit is not None and len(self._scheduled) >= limit:
            stats.inc_value("newsarchive/skipped_max_articles")
            return None
        self._scheduled.add(request.url)
        return request
