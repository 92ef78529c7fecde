"""The one seed-driven spider: discovery only. Extraction and storage are pipelines."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from archive.store import FetchedPage
from crawler import discovery
from crawler.items import FailureItem, PageItem
from crawler.reasons import failure_reason
from newsarchive.seeds import Source, load_seeds, select_sources


class NewsSpider(scrapy.Spider):
    """Crawl one source: `scrapy crawl news -a source=netease-news`."""

    name = "news"

    def __init__(self, source: Source | str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._source_arg = source
        self.source: Source | None = source if isinstance(source, Source) else None

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        if spider.source is None:
            if not isinstance(spider._source_arg, str):
                raise ValueError("the news spider needs a source: -a source=NAME")
            seeds_dir = Path(crawler.settings.get("NEWSARCHIVE_SEEDS_DIR", "seeds"))
            spider.source = select_sources(load_seeds(seeds_dir), [spider._source_arg])[0]
        return spider

    async def start(self) -> AsyncIterator[Any]:
        assert self.source is not None
        for url in self.source.start_urls:
            yield self._listing(url, "html", page=1)
        for url in self.source.jsonp:
            yield self._listing(url, "jsonp", page=1)
        for url in self.source.feeds:
            yield self._listing(url, "feed", page=1)
        for url in self.source.sitemaps:
            yield self._listing(url, "sitemap", page=1)

    def _listing(self, url: str, kind: str, page: int) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse_listing, errback=self.on_error,
                              meta={"kind": kind, "listing_page": page}, priority=10)

    def _article(self, url: str) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse_article, errback=self.on_error,
                              meta={"kind": "article"})

    def parse_listing(self, response: Response) -> Iterator[Any]:
        assert self.source is not None
        kind, page = response.meta["kind"], response.meta["listing_page"]
        content_type = _header(response, "Content-Type")
        if kind == "html":
            found = discovery.links_from_html(response.body, response.url, content_type)
            links = found.links
            if page < self.source.max_listing_pages:
                for next_url in found.next_pages:
                    yield self._listing(next_url, "html", page + 1)
        elif kind == "jsonp":
            links = discovery.links_from_jsonp(
                discovery.decode_html(response.body, content_type))
        elif kind == "feed":
            links = discovery.links_from_feed(response.body)
        else:
            links, sub_sitemaps = discovery.links_from_sitemap(response.body)
            for sub in sub_sitemaps[: self.source.max_listing_pages]:
                yield self._listing(sub, "sitemap", page + 1)
        for url in links:
            if self.source.is_article_url(url):
                yield self._article(url)

    def parse_article(self, response: Response) -> Iterator[PageItem]:
        assert self.source is not None
        yield PageItem(source=self.source.name, profile=self.source.profile, page=FetchedPage(
            url=response.request.meta.get("redirect_urls", [response.url])[0],
            final_url=response.url,
            status=response.status,
            headers={k.decode("latin-1"): b", ".join(v).decode("latin-1")
                     for k, v in response.headers.items()},
            body=response.body,
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
        ))

    def on_error(self, failure: Failure) -> Iterator[FailureItem]:
        assert self.source is not None
        request = failure.request  # type: ignore[attr-defined]
        reason, status = failure_reason(failure)
        yield FailureItem(source=self.source.name, url=request.url, reason=reason, status=status)


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
