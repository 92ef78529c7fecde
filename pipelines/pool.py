"""The process pool extraction runs in, so both cores work while Scrapy fetches and stores."""

from __future__ import annotations

import atexit
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

_pools: dict[int, ProcessPoolExecutor] = {}


def extraction_pool(workers: int = 0) -> ProcessPoolExecutor:
    """One pool per process and size, created on first use, shut down at exit.

    forkserver, not fork: forking a process that runs Twisted's threads can deadlock, and
    the preloaded server imports trafilatura, the site profiles and the rest of
    pipelines/work.py (not Scrapy) once for all workers.
    """
    size = workers or os.cpu_count() or 1
    if size not in _pools:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["pipelines.work"])
        _pools[size] = ProcessPoolExecutor(max_workers=size, mp_context=context)
        atexit.register(_pools[size].shutdown, wait=False, cancel_futures=True)
    return _pools[size]
