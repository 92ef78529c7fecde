"""The crawl process's C heap: large buffers handed back to the system when freed.

Every page passes through the crawl process as a few buffers of its size (~270 KB on
NetEase): the downloaded body, its pickle to an extraction worker, the stored blob.
glibc serves a buffer that large with mmap, and returns it when it is freed; but after
the first such free it raises its mmap threshold to the buffer's size, and from then on
pages come from the heap, which shrinks only from its top. Over a 10,000-page crawl the
crawl process so kept ~60-90 MB of freed heap (bench/README.md, "Performance II").
Fixing the threshold at glibc's initial 128 KB keeps page-sized buffers in mappings of
their own. Only this process: the extraction workers are forked from a forkserver,
a fresh interpreter, and keep glibc's defaults, as their buffers are reused page after
page.
"""

from __future__ import annotations

import ctypes
import ctypes.util

# mallopt's parameters (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
THRESHOLD = 128 * 1024


def return_large_buffers() -> bool:
    """Fix glibc's mmap and trim thresholds for this process; False where there is no
    glibc (musl, macOS), which then keeps its own allocator's behaviour."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, THRESHOLD))
