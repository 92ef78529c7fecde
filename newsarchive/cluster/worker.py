"""A crawl node: the cluster spider in one Scrapy process, until stopped."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings

from crawler.cluster.settings import CLUSTER_SETTINGS
from crawler.cluster.spider import ClusterNewsSpider


def worker_settings(redis_url: str, seeds_dir: Path, *, workers: int = 0,
                    node: str | None = None,
                    overrides: dict[str, Any] | None = None) -> Any:
    """crawler/settings.py, then the cluster's settings, then the command line's."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    settings = get_project_settings()
    settings.setdict(CLUSTER_SETTINGS, priority="project")
    given = {"REDIS_URL": redis_url, "NEWSARCHIVE_SEEDS_DIR": str(seeds_dir),
             "NEWSARCHIVE_EXTRACT_WORKERS": workers}
    if node:
        given["NEWSARCHIVE_NODE"] = node
    settings.setdict({**given, **(overrides or {})}, priority="cmdline")
    settings.set("SCHEDULER_QUEUE_KEY",
                 settings.get("NEWSARCHIVE_CLUSTER_PREFIX") + ":requests", priority="cmdline")
    return settings


def run_worker(settings: Any) -> None:
    """Run until SIGINT or SIGTERM (a clean stop gives unfinished requests back)."""
    process = CrawlerProcess(settings, install_root_handler=True)
    process.crawl(ClusterNewsSpider)
    process.start()
