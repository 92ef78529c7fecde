"""The one seed-driven spider: discovery only. Extraction and storage are pipelines."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from archive import open_archive
from archive.store import ArchiveWriter, FetchedPage
from crawler import discovery
from crawler.items import FailureItem, ListingItem, PageItem, RemovedItem
from crawler.reasons import failure_reason
from crawler.seeds import Source, load_seeds, select_sources
from pipelines.decode import decode_html
from pipelines.urls import clean_url

GONE = (404, 410)


class NewsSpider(scrapy.Spider):
    """Crawl one source: `scrapy crawl news -a source=netease-news`."""

    name = "news"

    def __init__(self, source: Source | str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._source_arg = source
        self.source: Source | None = source if isinstance(source, Source) else None
        self.archive: ArchiveWriter | None = None

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        if spider.source is None:
            if not isinstance(spider._source_arg, str):
                raise ValueError("the news spider needs a source: -a source=NAME")
            seeds_dir = Path(crawler.settings.get("NEWSARCHIVE_SEEDS_DIR", "seeds"))
            spider.source = select_sources(load_seeds(seeds_dir), [spider._source_arg])[0]
        spider.archive = ArchiveWriter(open_archive(crawler.settings.get("NEWSARCHIVE_DB")))
        return spider

    async def start(self) -> AsyncIterator[Any]:
        assert self.source is not None and self.archive is not None
        for kind, urls in (("html", self.source.start_urls), ("jsonp", self.source.jsonp),
                           ("feed", self.source.feeds), ("sitemap", self.source.sitemaps)):
            for url in urls:
                yield self._listing(url, kind, page=1)
        for url in self.archive.due_revisits(self.source.name):
            yield scrapy.Request(url, callback=self.parse_article, errback=self.on_error,
                                 meta={"kind": "revisit"}, dont_filter=True, priority=-10)

    def _listing(self, url: str, kind: str, page: int) -> scrapy.Request:
        assert self.archive is not None
        # Conditional request: a listing unchanged since the last run answers 304.
        return scrapy.Request(url, callback=self.parse_listing, errback=self.on_error,
                              headers=self.archive.listing_validators(url), priority=10,
                              meta={"kind": kind, "listing_page": page,
                                    "handle_httpstatus_list": [304]})

    def _article(self, url: str) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse_article, errback=self.on_error,
                              meta={"kind": "article"})

    def parse_listing(self, response: Response) -> Iterator[Any]:
        assert self.source is not None
        validators = (_header(response, "ETag"), _header(response, "Last-Modified"))
        if response.status == 304:
            yield ListingItem(self.source.name, response.url, 304, *validators)
            return
        links, next_listings = self._read_listing(response)
        articles = [clean_url(url) for url in links if self.source.is_article_url(url)]
        yield ListingItem(self.source.name, response.url, response.status, *validators,
                          links=tuple(dict.fromkeys(articles)),
                          children=tuple(request.url for request in next_listings))
        # Next pages go out only if this page had something new: ArticleRequestFilter
        # holds them back otherwise.
        yield from next_listings
        for url in articles:
            yield self._article(url)

    def _read_listing(self, response: Response) -> tuple[list[str], list[scrapy.Request]]:
        """(links, requests for the listing's next pages or sub-sitemaps)."""
        assert self.source is not None
        kind, page = response.meta["kind"], response.meta["listing_page"]
        content_type = _header(response, "Content-Type")
        deeper = page < self.source.max_listing_pages
        if kind == "html":
            found = discovery.links_from_html(response.body, response.url, content_type)
            return found.links, [self._listing(u, kind, page + 1)
                                 for u in found.next_pages if deeper]
        if kind == "jsonp":
            return discovery.links_from_jsonp(decode_html(response.body, content_type)), []
        if kind == "feed":
            return discovery.links_from_feed(response.body), []
        links, sub_sitemaps = discovery.links_from_sitemap(response.body)
        return links, [self._listing(u, kind, page + 1) for u in sub_sitemaps if deeper]

    def parse_article(self, response: Response) -> Iterator[Any]:
        assert self.source is not None
        revisit = response.meta["kind"] == "revisit"
        first_url = response.request.meta.get("redirect_urls", [response.url])[0]
        if revisit and first_url != response.url and not self.source.is_article_url(response.url):
            yield RemovedItem(self.source.name, first_url,
                              f"redirected away from the article to {response.url}")
            return
        yield PageItem(source=self.source.name, profile=self.source.profile, revisit=revisit,
                       page=FetchedPage(
                           url=first_url, final_url=response.url, status=response.status,
                           headers={k.decode("latin-1"): b", ".join(v).decode("latin-1")
                                    for k, v in response.headers.items()},
                           body=response.body,
                           fetched_at=datetime.now(UTC).isoformat(timespec="seconds")))

    def on_error(self, failure: Failure) -> Iterator[Any]:
        assert self.source is not None
        request = failure.request  # type: ignore[attr-defined]
        reason, status = failure_reason(failure)
        # The URL the crawl was after, not the last hop of its redirects: the reason names
        # where a redirect led, and the next run finds the first URL again.
        url = request.meta.get("redirect_urls", [request.url])[0]
        target = getattr(failure.value, "redirect_target", None)
        if request.meta.get("kind") == "revisit" and status in GONE:
            yield RemovedItem(self.source.name, url, reason)
        elif request.meta.get("kind") == "revisit" and target:
            # The article now sends its readers off the source's hosts: taken down.
            yield RemovedItem(self.source.name, url, f"redirected off-site to {target}")
        else:
            yield FailureItem(self.source.name, url, reason, status)


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
