"""How a long-running writer gives the memory it frees back to the system (glibc).

A crawl allocates and frees large buffers all the time: each page (~270 KB on NetEase),
its decoded text, the samples a page dictionary is trained on (~26 MB). glibc serves a
block above its mmap threshold (128 KB) from a mapping of its own, unmapped when freed;
but each time it frees such a block it raises the threshold to that block's size (up to
32 MB), and from then on the same buffers come from the heap, which goes back to the
system only from its top. Over a 10,000-page crawl the crawl process kept ~90 MB of freed
heap that way (bench/README.md, "Memory").

Fixing the thresholds (mallopt) gave that memory back but cost 18% more CPU a page: every
page's buffers became fresh mappings, faulted in page by page. `malloc_trim(0)` every
TRIM_EVERY stores gives back the free pages inside the heap instead, for ~1 ms each time.

Nothing here changes what a process computes; off glibc (musl, macOS) it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes

TRIM_EVERY = 200  # stores between two trims: ~50 MB of pages freed in between


def trim() -> None:
    """Give the free pages inside the heap back to the system now."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


class Trimmer:
    """trim() every `every` calls of tick(): a writer's store calls it."""

    def __init__(self, every: int = TRIM_EVERY) -> None:
        self.every = every
        self._count = 0

    def tick(self) -> None:
        self._count += 1
        if self._count >= self.every:
            self._count = 0
            trim()


def _glibc() -> ctypes.CDLL | None:
    with contextlib.suppress(AttributeError, OSError):
        libc = ctypes.CDLL(None)
        if hasattr(libc, "malloc_trim"):
            return libc
    return None
