"""How a long-running process gives the memory it frees back to the system (glibc).

A crawl allocates and frees large buffers all the time: each page (~270 KB on NetEase),
its decoded text, the samples a page dictionary is trained on (~26 MB). glibc serves a
block above its mmap threshold (128 KB) from a mapping of its own, unmapped when freed;
but each time it frees such a block it raises the threshold to that block's size (up to
32 MB), and from then on the same buffers come from the heap, which goes back to the
system only from its top. Over a 10,000-page crawl the crawl process kept ~90 MB of freed
heap that way, and each worker ~5 (bench/README.md, "Memory"). Setting the thresholds
fixes them: large blocks stay in mappings of their own.

Nothing here changes what a process computes; off glibc (musl, macOS) it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes

M_TRIM_THRESHOLD = -1  # <malloc.h>
M_MMAP_THRESHOLD = -3
LARGE_BLOCK = 128 * 1024  # glibc's starting mmap threshold, kept


def release_large_blocks() -> None:
    """From now on, serve blocks of LARGE_BLOCK or more from mappings of their own and
    trim the heap's top past LARGE_BLOCK free: called at start by the `newsarchive`
    command and by the extraction pool's forkserver (its workers inherit it)."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK)
        libc.mallopt(M_TRIM_THRESHOLD, LARGE_BLOCK)


def trim() -> None:
    """Give the free pages inside the heap back to the system now: after a large
    transient use made of small blocks (a dictionary training's zstd buffers)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def _glibc() -> ctypes.CDLL | None:
    with contextlib.suppress(AttributeError, OSError):
        libc = ctypes.CDLL(None)
        if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim"):
            return libc
    return None
