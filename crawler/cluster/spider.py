"""The `news` spider as a cluster node runs it: every source at once, no SQLite.

A request carries its source's name and its run in `meta`; the callbacks of NewsSpider
run with that source. What ArticleRequestFilter asks the archive (is this URL archived?)
is asked of the archive's mirror in Redis, a whole listing's links in one round trip.

The callbacks queue their requests themselves (engine.crawl) and return only items, so
that when a callback returns, its requests are in the frontier and the items are what
the lease waits for (stream.LeaseTracker).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import scrapy
from scrapy import Request
from scrapy_redis.connection import get_redis_from_settings

from crawler.cluster.keys import Keys, url_digest
from crawler.cluster.stream import LeaseTracker
from crawler.items import AliasItem, FailureItem
from crawler.seeds import Source, load_seeds
from crawler.spiders.news import NewsSpider
from pipelines.urls import canonical_url_for

logger = logging.getLogger(__name__)

# KEYS: the run's article set. ARGV: ttl, limit (0: none), URLs...
# For each URL: 1 new this run, 0 requested already this run, -1 over the run's limit.
_SCHEDULE = """
local out = {}
local limit = tonumber(ARGV[2])
for i = 3, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 1 then out[#out + 1] = 0
  elseif limit > 0 and redis.call('SCARD', KEYS[1]) >= limit then out[#out + 1] = -1
  else redis.call('SADD', KEYS[1], ARGV[i]) out[#out + 1] = 1 end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return out
"""


class NoValidators:
    """The spider's view of the archive on a node: no conditional requests (a node has
    no listing_state; docs/cluster.md)."""

    def listing_validators(self, url: str) -> dict[str, str]:
        return {}


class ClusterNewsSpider(NewsSpider):
    """`news` for every source of the seeds directory, fed by the shared frontier."""

    name = "news-cluster"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source=None, **kwargs)
        self.sources: dict[str, Source] = {}
        self.leases: LeaseTracker
        self.frontier: Any = None  # the LeasedScheduler, set when it opens

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> ClusterNewsSpider:
        spider = super(NewsSpider, cls).from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.sources = {s.name: s for s in load_seeds(
            Path(settings.get("NEWSARCHIVE_SEEDS_DIR", "seeds")))}
        spider.archive = NoValidators()  # type: ignore[assignment]
        spider.leases = LeaseTracker(lambda lease: spider.frontier.release(lease))
        spider.server = get_redis_from_settings(settings)
        spider.keys = Keys(settings.get("NEWSARCHIVE_CLUSTER_PREFIX"))
        spider.run_ttl = settings.getint("NEWSARCHIVE_CLUSTER_RUN_TTL")
        spider._schedule = spider.server.register_script(_SCHEDULE)
        crawler.signals.connect(spider._keep_open, signal=scrapy.signals.spider_idle)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        return  # requests come from the frontier
        yield

    def _keep_open(self) -> None:
        from scrapy.exceptions import DontCloseSpider

        raise DontCloseSpider  # a node runs until it is stopped

    def parse_listing(self, response: Any) -> list[Any]:
        return self._with_source(response.request, lambda: super(
            ClusterNewsSpider, self).parse_listing(response))

    def parse_article(self, response: Any) -> list[Any]:
        return self._with_source(response.request, lambda: super(
            ClusterNewsSpider, self).parse_article(response))

    def on_error(self, failure: Any) -> list[Any]:
        return self._with_source(failure.request, lambda: super(
            ClusterNewsSpider, self).on_error(failure))

    def _with_source(self, request: Request, callback: Callable[[], Iterable[Any]]) -> list[Any]:
        """Run a NewsSpider callback with the request's source; queue its requests; its
        items, for the pipelines. The callbacks are plain generators: list() runs one to
        its end before any other response is looked at, so `self.source` is this
        request's throughout."""
        name, run = request.meta.get("source"), str(request.meta.get("run") or "")
        source = self.sources.get(name)
        if source is None:
            outputs: list[Any] = [FailureItem(str(name), request.url,
                                              f"unknown source {name!r}: not in this "
                                              "node's seeds directory")]
        else:
            self.source = source
            try:
                outputs = list(callback())
            except Exception as exc:  # the URL is recorded as failed, not lost
                logger.exception("callback failed for %s", request.url)
                outputs = [FailureItem(source.name, request.url,
                                       f"spider error: {type(exc).__name__}: {exc}"[:500])]
            finally:
                self.source = None
            outputs = self._filter(outputs, source, run)
        items = []
        for output in outputs:
            if isinstance(output, Request):
                output.meta["source"], output.meta["run"] = name, run
                self.crawler.engine.crawl(output)
            else:
                items.append(output)
        self.leases.expect(request.meta.get("lease"), run, items)
        return items

    def _filter(self, outputs: list[Any], source: Source, run: str) -> list[Any]:
        """ArticleRequestFilter's rules, against Redis: an archived article (by its URL
        or its canonical URL) is not fetched; one requested already this run neither,
        though it counts as new on this listing; at most `max_articles` a run; a
        listing's next pages only when it had something new."""
        articles = [o for o in outputs
                    if isinstance(o, Request) and o.meta.get("kind") == "article"]
        verdicts = self._verdicts(list(dict.fromkeys(r.url for r in articles)), source, run)
        kept: list[Any] = []
        held: list[Request] = []
        fresh, looked = 0, set()
        for output in outputs:
            if not isinstance(output, Request):
                kept.append(output)
            elif output.meta.get("kind") == "html" and output.meta.get("listing_page", 1) > 1:
                held.append(output)
            elif output.meta.get("kind") != "article":
                kept.append(output)
            elif output.url not in looked:  # a link twice on one listing: once
                looked.add(output.url)
                verdict = verdicts[output.url]
                fresh += verdict in ("new", "again")
                if verdict == "new":
                    kept.append(output)
                elif isinstance(verdict, AliasItem):
                    kept.append(verdict)
                label = "alias" if isinstance(verdict, AliasItem) else verdict
                self.crawler.stats.inc_value(f"newsarchive/articles_{label}")
        if held and not fresh:
            self.crawler.stats.inc_value("newsarchive/paging_stopped")
        return kept + (held if fresh else [])

    def _verdicts(self, urls: list[str], source: Source, run: str) -> dict[str, Any]:
        if not urls:
            return {}
        canonical = {url: canonical_url_for(url, source.profile) for url in urls}
        known = self.server.smismember(self.keys.archived, [
            digest for url in urls for digest in (url_digest(url), url_digest(canonical[url]))])
        verdicts: dict[str, Any] = {}
        unknown = []
        for i, url in enumerate(urls):
            if known[2 * i]:
                verdicts[url] = "archived"
            elif known[2 * i + 1]:
                verdicts[url] = AliasItem(source.name, url, canonical[url])
            else:
                unknown.append(url)
        if unknown:
            scheduled = self._schedule(keys=[self.keys.run_articles(run)],
                                       args=[self.run_ttl, source.max_articles or 0, *unknown])
            for url, state in zip(unknown, scheduled, strict=True):
                verdicts[url] = {1: "new", 0: "again", -1: "over_limit"}[int(state)]
        return verdicts
