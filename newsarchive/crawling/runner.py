"""Run the `news` spider for one or more sources in this process, with live progress.

Twisted's reactor cannot be restarted, so one call per process: the scheduler runs each
crawl in a child process (`newsarchive crawl SOURCE`) for that reason.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.utils.project import get_project_settings

from crawler.items import FailureItem, PageItem
from crawler.seeds import Source
from crawler.spiders.news import NewsSpider
from newsarchive.crawling.causes import quiet_log
from newsarchive.crawling.heap import return_large_buffers


@dataclass
class RunSummary:
    source: str
    run_id: int | None
    status: str
    pages_fetched: int = 0
    articles_new: int = 0
    duplicates: int = 0
    failures: int = 0
    finish_reason: str = ""
    disk_full: str | None = None  # why the run stopped, when the archive's disk was full

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class _Counts:
    pages: int = 0
    new: int = 0
    duplicates: int = 0
    failures: int = 0


def crawl_settings(db: Path, seeds_dir: Path | None = None,
                   overrides: dict[str, Any] | None = None) -> Any:
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    settings = get_project_settings()
    settings.set("NEWSARCHIVE_DB", str(db), priority="cmdline")
    if seeds_dir is not None:
        settings.set("NEWSARCHIVE_SEEDS_DIR", str(seeds_dir), priority="cmdline")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def run_crawl(sources: list[Source], db: Path, *, seeds_dir: Path | None = None,
              overrides: dict[str, Any] | None = None,
              console: Console | None = None) -> list[RunSummary]:
    """Crawl the sources (in parallel, one spider each) into the archive at `db`."""
    settings = crawl_settings(db, seeds_dir, overrides)
    process = CrawlerProcess(settings, install_root_handler=True)
    if console is not None:  # progress shown, not the log: no tracebacks (--verbose)
        quiet_log()
    crawlers: list[tuple[Source, Crawler]] = []
    counts = {source.name: _Counts() for source in sources}
    for source in sources:
        crawler = process.create_crawler(NewsSpider)
        _count_items(crawler, counts[source.name])
        process.crawl(crawler, source=source)
        crawlers.append((source, crawler))
    # What the imports and set-up made lives until the end: out of the collector's
    # reach, each of its passes during the crawl walks only what the crawl makes.
    gc.freeze()
    return_large_buffers()
    if console is None:
        process.start()
    else:
        with Live(_progress_table(counts), console=console, refresh_per_second=4,
                  transient=True) as live:
            for _, crawler in crawlers:
                crawler.signals.connect(lambda *a, **k: live.update(_progress_table(counts)),
                                        signal=signals.item_scraped)
            process.start()
    return [_summary(source, crawler) for source, crawler in crawlers]


def _count_items(crawler: Crawler, counts: _Counts) -> None:
    def on_item(item: Any, **_: Any) -> None:
        if isinstance(item, FailureItem):
            counts.failures += 1
        elif isinstance(item, PageItem):
            counts.pages += 1
            if item.outcome == "new":
                counts.new += 1
            elif item.outcome == "duplicate":
                counts.duplicates += 1
            if item.outcome == "not-article" or item.extract_error:
                counts.failures += 1

    crawler.signals.connect(on_item, signal=signals.item_scraped, weak=False)


def _progress_table(counts: dict[str, _Counts]) -> Table:
    table = Table(title="crawling", title_justify="left")
    for column in ("source", "pages fetched", "articles stored", "duplicates", "failures"):
        table.add_column(column, justify="left" if column == "source" else "right")
    for name, c in counts.items():
        table.add_row(name, str(c.pages), str(c.new), str(c.duplicates), str(c.failures))
    return table


def _summary(source: Source, crawler: Crawler) -> RunSummary:
    stats = crawler.stats.get_stats() if crawler.stats else {}
    return RunSummary(
        source=source.name,
        run_id=stats.get("newsarchive/run_id"),
        status=stats.get("newsarchive/run_status", "failed"),
        pages_fetched=stats.get("newsarchive/pages_fetched", 0),
        articles_new=stats.get("newsarchive/articles_new", 0),
        duplicates=stats.get("newsarchive/duplicates", 0),
        failures=stats.get("newsarchive/failures", 0),
        finish_reason=stats.get("finish_reason", ""),
        disk_full=stats.get("newsarchive/disk_full"),
    )
