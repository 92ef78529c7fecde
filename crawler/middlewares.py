"""Spider middleware deciding which requests go out at all."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from scrapy import Request
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from crawler.items import AliasItem
from pipelines.urls import canonical_url_for


class ArticleRequestFilter(BaseSpiderMiddleware):
    """Incremental crawling:

    - an article whose URL, or the canonical URL its site's rules give, is archived is
      not fetched again (revisits, scheduled separately, pass);
    - at most `max_articles` new article requests per run;
    - a listing page's next page is requested only if the page had something new.
    """

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self._scheduled: set[str] = set()

    def process_spider_output(self, response: Response | None, result: Iterable[Any],
                              spider: Any = None) -> Iterator[Any]:
        held: list[Request] = []
        fresh = 0
        for output in result:
            kept = self._process(output, held)
            if kept is not None:
                fresh += isinstance(kept, Request) and kept.meta.get("kind") == "article"
                yield kept
        yield from self._release(held, fresh)

    async def process_spider_output_async(self, response: Response | None,
                                          result: AsyncIterator[Any],
                                          spider: Any = None) -> AsyncIterator[Any]:
        held: list[Request] = []
        fresh = 0
        async for output in result:
            kept = self._process(output, held)
            if kept is not None:
                fresh += isinstance(kept, Request) and kept.meta.get("kind") == "article"
                yield kept
        for request in self._release(held, fresh):
            yield request

    def _process(self, output: Any, held: list[Request]) -> Any:
        if not isinstance(output, Request):
            return output
        if output.meta.get("kind") == "html" and output.meta.get("listing_page", 1) > 1:
            held.append(output)
            return None
        if output.meta.get("kind") == "article":
            return self._filter_article(output)
        return output

    def _release(self, held: list[Request], fresh: int) -> list[Request]:
        if held and not fresh:
            self.crawler.stats.inc_value("newsarchive/paging_stopped")
            return []
        return held

    def _filter_article(self, request: Request) -> Request | AliasItem | None:
        spider = self.crawler.spider
        stats = self.crawler.stats
        if request.url in self._scheduled:
            return None  # found again on another listing this run
        canonical = canonical_url_for(request.url, spider.source.profile)
        if spider.archive.is_archived(request.url):
            stats.inc_value("newsarchive/skipped_archived")
            return None
        if spider.archive.is_archived(canonical):
            stats.inc_value("newsarchive/skipped_archived")
            return AliasItem(spider.source.name, request.url, canonical)
        limit = spider.source.max_articles
        if limit is not None and len(self._scheduled) >= limit:
            stats.inc_value("newsarchive/skipped_max_articles")
            return None
        self._scheduled.add(request.url)
        return request
