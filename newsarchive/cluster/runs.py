"""Start a cluster run (a source's listings into the shared frontier) and wait for it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
import scrapy

from archive import open_archive
from archive.runs import now_iso
from archive.store import ArchiveWriter
from crawler.cluster.frontier import LeasedQueue, Leases
from crawler.cluster.keys import Keys
from crawler.cluster.spider import ClusterNewsSpider
from crawler.seeds import Source

LISTING_KINDS = ("html", "jsonp", "feed", "sitemap")
FINAL = ("ok", "failed")


def connect(url: str) -> redis.Redis:
    """A client for redis://, rediss:// (TLS) or unix:// URLs, checked at once."""
    server = redis.Redis.from_url(url)
    server.ping()
    return server


def start_run(server: redis.Redis, source: Source, *, keys: Keys | None = None,
              db: Path | None = None) -> str:
    """Queue the source's listings (and, with the archive at hand, its due revisits) as
    a new run; its id."""
    keys = keys or Keys()
    run = f"{source.name}-{server.incr(keys.run_seq)}"
    server.hset(keys.run(run), mapping={"source": source.name, "status": "running",
                                        "started_at": now_iso(), "queued": 0, "sent": 0,
                                        "stored": 0})
    spider = ClusterNewsSpider()
    queue = LeasedQueue(server, spider, keys.queue)
    queue.leases = Leases(server, keys, lease_seconds=60)
    for request in _requests(spider, source, run, db):
        queue.push(request)
    server.sadd(keys.runs_open, run)  # after its requests: it cannot look finished before
    return run


def _requests(spider: ClusterNewsSpider, source: Source, run: str,
              db: Path | None) -> list[scrapy.Request]:
    meta = {"source": source.name, "run": run}
    requests = [
        scrapy.Request(url, callback=spider.parse_listing, errback=spider.on_error,
                       priority=10, meta={**meta, "kind": kind, "listing_page": 1,
                                          "handle_httpstatus_list": [304]})
        for kind, urls in zip(LISTING_KINDS, (source.start_urls, source.jsonp, source.feeds,
                                              source.sitemaps), strict=True)
        for url in urls]
    if db is not None and db.exists():
        archive = ArchiveWriter(open_archive(db))
        requests += [scrapy.Request(url, callback=spider.parse_article, errback=spider.on_error,
                                    meta={**meta, "kind": "revisit"}, dont_filter=True,
                                    priority=-10)
                     for url in archive.due_revisits(source.name)]
    return requests


def run_state(server: redis.Redis, run: str, keys: Keys | None = None) -> dict[str, str]:
    keys = keys or Keys()
    return {k.decode(): v.decode() for k, v in server.hgetall(keys.run(run)).items()}


def wait_for_runs(server: redis.Redis, runs: list[str], *, keys: Keys | None = None,
                  poll: float = 1.0, progress: Callable[[dict[str, dict[str, str]]], Any]
                  | None = None) -> dict[str, dict[str, str]]:
    """Block until the writer has closed every run; their final states."""
    while True:
        states = {run: run_state(server, run, keys) for run in runs}
        if progress is not None:
            progress(states)
        if all(state.get("status") in FINAL for state in states.values()):
            return states
        time.sleep(poll)
