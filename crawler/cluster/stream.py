"""Send each result to the Redis Stream the archive writer reads; let leases go after.

A request's lease is let go only once every item that came of it is in the stream (and
its new requests are in the frontier: the spider queues them before it returns its
items). A node killed before that leaves the lease to expire, and the request is
fetched again: a result may then reach the stream twice, which the writer stores once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scrapy import signals
from scrapy_redis.connection import get_redis_from_settings

from crawler.cluster.frontier import node_name
from crawler.cluster.keys import Keys
from crawler.cluster.results import encode
from crawler.itempipelines import ExtractPipeline

logger = logging.getLogger(__name__)


class LeaseTracker:
    """Which lease and run each item in the pipelines came from, and how many of a
    lease's items are still on their way to the stream."""

    def __init__(self, release: Any) -> None:
        self.release = release  # LeasedScheduler.release
        self._items: dict[int, tuple[str | None, str]] = {}
        self._pending: dict[str, int] = {}

    def expect(self, lease: str | None, run: str, items: list[Any]) -> None:
        """The callback for the lease's request returned these items (its requests are
        queued already)."""
        for item in items:
            self._items[id(item)] = (lease, run)
        if lease is None:
            return
        if items:
            self._pending[lease] = self._pending.get(lease, 0) + len(items)
        else:
            self.release(lease)

    def run_of(self, item: Any) -> str:
        return self._items.get(id(item), (None, ""))[1]

    def done(self, item: Any) -> None:
        """The item is in the stream, or was dropped: one fewer for its lease."""
        lease, _ = self._items.pop(id(item), (None, ""))
        if lease is None or lease not in self._pending:
            return
        self._pending[lease] -= 1
        if self._pending[lease] == 0:
            del self._pending[lease]
            self.release(lease)


class StreamPipeline:
    """The last item pipeline of a worker: XADD the result (and count it as sent in its
    run), waiting while the stream holds more than NEWSARCHIVE_CLUSTER_STREAM_MAX entries
    the writer has not taken: a writer that is down or slow holds the crawl back instead
    of filling Redis' memory."""

    def __init__(self, crawler: Any) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.server = get_redis_from_settings(settings)
        self.keys = Keys(settings.get("NEWSARCHIVE_CLUSTER_PREFIX"))
        self.node = settings.get("NEWSARCHIVE_NODE") or node_name()
        self.max_entries = settings.getint("NEWSARCHIVE_CLUSTER_STREAM_MAX")
        crawler.signals.connect(self._dropped, signal=signals.item_dropped)
        crawler.signals.connect(self._dropped, signal=signals.item_error)

    @classmethod
    def from_crawler(cls, crawler: Any) -> StreamPipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        tracker: LeaseTracker = self.crawler.spider.leases
        run = tracker.run_of(item)
        while self.server.xlen(self.keys.results) >= self.max_entries:
            self.crawler.stats.inc_value("newsarchive/stream_full_waits")
            await asyncio.sleep(1.0)
        pipe = self.server.pipeline()
        pipe.xadd(self.keys.results, encode(item, run, self.node))
        pipe.hincrby(self.keys.run(run), "sent", 1)
        pipe.execute()
        tracker.done(item)
        return item

    def _dropped(self, item: Any, **_: Any) -> None:
        self.crawler.spider.leases.done(item)


class ClusterExtractPipeline(ExtractPipeline):
    """ExtractPipeline on a node, which has no archive: pages are compressed without the
    sites' dictionaries (the writer applies them), and a revisit's previous text is
    segmented by the writer."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> ClusterExtractPipeline:
        return cls(crawler.settings.getint("NEWSARCHIVE_EXTRACT_WORKERS", 0), None)
