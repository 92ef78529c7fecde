"""The Scrapy settings a cluster node adds to crawler/settings.py (docs/cluster.md)."""

from __future__ import annotations

from typing import Any

from crawler.cluster.keys import DEFAULT_PREFIX

CLUSTER_SETTINGS: dict[str, Any] = {
    # scrapy-redis' scheduler, with leases (frontier.py)
    "SCHEDULER": "crawler.cluster.frontier.LeasedScheduler",
    "SCHEDULER_QUEUE_CLASS": "crawler.cluster.frontier.LeasedQueue",
    "DUPEFILTER_CLASS": "crawler.cluster.frontier.RunDupeFilter",
    "SCHEDULER_PERSIST": True,  # the frontier outlives every node
    # Politeness is the cluster's (politeness.py), not each process's.
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "DOWNLOADER_MIDDLEWARES": {
        "crawler.safety.SafetyMiddleware": 60,
        "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
        "crawler.cluster.politeness.SharedRobotsTxtMiddleware": 100,
        "crawler.backoff.RetryAfterMiddleware": 560,
        "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
        "crawler.safety.SafeMetaRefreshMiddleware": 580,
        "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
        "crawler.safety.SafeRedirectMiddleware": 600,
        # last before the download, first to see its answer: holds the host only while
        # the request is on the wire, and always lets it go
        "crawler.cluster.politeness.HostRateLimitMiddleware": 960,
    },
    "SPIDER_MIDDLEWARES": {"crawler.middlewares.ArticleRequestFilter": None},  # spider.py
    "ITEM_PIPELINES": {
        "crawler.cluster.stream.ClusterExtractPipeline": 300,
        "crawler.cluster.stream.StreamPipeline": 800,
    },
    "NEWSARCHIVE_CLUSTER_PREFIX": DEFAULT_PREFIX,
    # Seconds between one answer of a host and the next request to it, cluster-wide;
    # 0: no shared limit (Scrapy's per-process settings apply).
    "NEWSARCHIVE_HOST_DELAY": 0.5,
    # A node renews its leases every third of this; one dead this long loses them.
    "NEWSARCHIVE_CLUSTER_LEASE": 60.0,
    "NEWSARCHIVE_CLUSTER_MAX_EXPIRIES": 3,  # then a request is set aside (`dropped`)
    "NEWSARCHIVE_CLUSTER_RUN_TTL": 2 * 24 * 3600,  # a run's duplicate filter at most
    "NEWSARCHIVE_CLUSTER_STREAM_MAX": 10_000,  # results the writer has not taken
    "NEWSARCHIVE_ROBOTS_TTL": 24 * 3600,
    "NEWSARCHIVE_NODE": None,  # None: host:pid
}
