"""The process pool extraction runs in, so both cores work while Scrapy fetches and stores."""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

# What the forkserver imports before it forks a worker (crawler/preload.py). A name that
# fails to import is skipped by multiprocessing without a word: tests/test_work.py
# imports each of them.
PRELOAD = ["crawler.preload"]

_pools: dict[int, ProcessPoolExecutor] = {}
_starting: dict[int, Future[ProcessPoolExecutor]] = {}
_lock = threading.Lock()


def extraction_pool(workers: int = 0) -> ProcessPoolExecutor:
    """One pool per process and size, created on first use, shut down at exit.

    forkserver, not fork: forking a process that runs Twisted's threads can deadlock. The
    forkserver imports crawler/preload.py (crawler/work.py: trafilatura, the site
    profiles, the segmenter's dictionary; not Scrapy) once, and the workers it forks
    share those pages copy-on-write.
    """
    size = workers or os.cpu_count() or 1
    with _lock:
        if size not in _pools:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _pools[size] = ProcessPoolExecutor(max_workers=size, mp_context=context)
            atexit.register(_pools[size].shutdown, wait=False, cancel_futures=True)
        return _pools[size]


def start_extraction_pool(workers: int = 0) -> Future[ProcessPoolExecutor]:
    """The pool, started in a background thread; its future resolves once a worker runs.

    The first task given to a new pool waits while the forkserver starts and imports
    crawler.preload (a second or more): submitted from the reactor thread it would stop
    the crawl for that long. Started here, on a thread of its own, when the crawl first
    schedules an article, the start-up overlaps the fetching. Called again, the same
    future; after a failed start, a new attempt. A run that finds nothing new never
    calls it, and starts no process at all.
    """
    size = workers or os.cpu_count() or 1
    with _lock:
        started = _starting.get(size)
        if started is not None and not (started.done() and started.exception()):
            return started
        started = _starting[size] = Future()

    def start() -> None:
        try:
            pool = extraction_pool(size)
            pool.submit(os.getpid).result()  # a worker is up: the forkserver is ready
        except BaseException as exc:  # handed to whoever waits
            started.set_exception(exc)
        else:
            started.set_result(pool)

    threading.Thread(target=start, name="extraction-pool-start", daemon=True).start()
    return started


def run_extraction(*args: Any) -> tuple[Any, ...]:
    """crawler.work.extract_and_fingerprint(*args), in a worker, as a plain tuple.

    What the crawl submits to the pool: the function travels by name, so the crawl
    process needs only this module, not crawler.work and the extraction libraries
    it imports (~80 MB); a plain tuple comes back for the same reason."""
    from crawler.work import extract_and_fingerprint

    return tuple(extract_and_fingerprint(*args))
