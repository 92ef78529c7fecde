"""archive/heap.py: pages a long-running writer freed go back to the system (glibc).

The program runs in a fresh interpreter: glibc's thresholds are per process, and a test
process has moved them already."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

from archive import heap

# A page's worth of bytes, 100 times, each followed by a block that outlives it (what a
# crawl does: a page, then its stored row, its URL, a log line). A 4 MB block freed first
# raises glibc's mmap threshold past the pages (a large page, a dictionary training), so
# that they come from the heap.
PROGRAM = """
import json
from archive import heap

def rss_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024

big = b"\\x00" * (4 << 20)
del big
before = rss_mb()
pages, kept = [], []
for i in range(100):
    pages.append(b"\\x01" * 300_000)
    kept.append(b"\\x02" * 20_000)
del pages
freed = rss_mb() - before
heap.trim()
print(json.dumps([freed, rss_mb() - before]))
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_a_trim_gives_freed_pages_back() -> None:
    """30 MB of pages freed beside 2 MB still held: glibc keeps them all, until a trim."""
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                          check=True)
    kept_before_trim, kept_after_trim = json.loads(done.stdout)
    assert kept_before_trim > 20
    assert kept_after_trim < 8


def test_a_writer_trims_every_so_many_stores(monkeypatch: pytest.MonkeyPatch) -> None:
    trims: list[int] = []
    monkeypatch.setattr(heap, "trim", lambda: trims.append(1))
    trimmer = heap.Trimmer(every=3)
    for _ in range(7):
        trimmer.tick()
    assert len(trims) == 2
