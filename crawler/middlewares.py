"""Spider middleware deciding which requests go out at all."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from scrapy import Request
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from crawler.items import AliasItem
from pipelines.urls import canonical_url_for

# An article URL another listing (a feed, the sitemap) already found this run: not
# requested twice, but new to the archive all the same, so the listing it is on counts as
# having something new. Were it not counted, whether a listing's next page is read would
# depend on which listing answered first, and articles linked only from page 2 would be
# missed in a race (and, page 1 being old news by the next run, never found).
SCHEDULED_THIS_RUN = object()


def _is_fresh(kept: Any) -> bool:
    return kept is SCHEDULED_THIS_RUN or (
        isinstance(kept, Request) and kept.meta.get("kind") == "article")


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
            fresh += _is_fresh(kept)
            if kept is not None and kept is not SCHEDULED_THIS_RUN:
                yield kept
        yield from self._release(held, fresh)

    async def process_spider_output_async(self, response: Response | None,
                                          result: AsyncIterator[Any],
                                          spider: Any = None) -> AsyncIterator[Any]:
        held: list[Request] = []
        fresh = 0
        async for output in result:
            kept = self._process(output, held)
            fresh += _is_fresh(kept)
            if kept is not None and kept is not SCHEDULED_THIS_RUN:
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
            # Nothing new here, so nothing new further on, unless a later page was left
            # unsettled last time (the run was killed before it was all archived).
            unsettled = [r for r in held if self.crawler.spider.archive.listing_unsettled(r.url)]
            if len(unsettled) < len(held):
                self.crawler.stats.inc_value("newsarchive/paging_stopped")
            return unsettled
        return held

    def _filter_article(self, request: Request) -> Request | AliasItem | object | None:
        spider = self.crawler.spider
        stats = self.crawler.stats
        if request.url in self._scheduled:
            return SCHEDULED_THIS_RUN  # found again on another listing this run
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
