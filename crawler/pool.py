"""The process pool extraction runs in, so both cores work while Scrapy fetches and stores."""

from __future__ import annotations

import atexit
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

_pools: dict[int, ProcessPoolExecutor] = {}


def extraction_pool(workers: int = 0) -> ProcessPoolExecutor:
    """One pool per process and size, created on first use, shut down at exit.

    forkserver, not fork: forking a process that runs Twisted's threads can deadlock. The
    forkserver imports crawler/preload.py (crawler/work.py: trafilatura, the site
    profiles, jieba's dictionary; not Scrapy) once, and the workers it forks share those
    pages copy-on-write.
    """
    size = workers or os.cpu_count() or 1
    if size not in _pools:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["crawler.preload"])
        _pools[size] = ProcessPoolExecutor(max_workers=size, mp_context=context)
        atexit.register(_pools[size].shutdown, wait=False, cancel_futures=True)
    return _pools[size]


def run_extraction(*args: Any) -> tuple[Any, ...]:
    """crawler.work.extract_and_fingerprint(*args), in a worker, as a plain tuple.

    What the crawl submits to the pool: the function travels by name, so the crawl
    process needs only this module, not crawler.work and the extraction libraries
    it imports (~80 MB); a plain tuple comes back for the same reason."""
    from crawler.work import extract_and_fingerprint

    return tuple(extract_and_fingerprint(*args))
