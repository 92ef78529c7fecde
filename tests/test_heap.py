"""archive/heap.py: pages freed by a long-running process go back to the system (glibc).

Each case runs in a fresh interpreter: malloc's thresholds are per process, and a test
process has moved them already."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")

# A page's worth of bytes, 100 times, each followed by a block that outlives it (what a
# crawl does: a page, then its stored row, its URL, a log line). A 4 MB block freed first
# is what raises glibc's threshold (a large page, a dictionary training).
PROGRAM = """
import sys
from archive import heap

def rss_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024

if sys.argv[1] == "released":
    heap.release_large_blocks()
big = b"\\x00" * (4 << 20)
del big
before = rss_mb()
pages, kept = [], []
for i in range(100):
    pages.append(b"\\x01" * 300_000)
    kept.append(b"\\x02" * 20_000)
del pages
print(rss_mb() - before)
"""


def kept_after_freeing(mode: str) -> float:
    """MB of RSS a process keeps after it freed 30 MB of pages, beside 2 MB it holds."""
    done = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True,
                          text=True, check=True)
    return float(done.stdout)


def test_freed_pages_go_back_to_the_system() -> None:
    assert kept_after_freeing("released") < 8


def test_without_it_glibc_keeps_them() -> None:
    """The case the setting is for: so that the test above can fail."""
    assert kept_after_freeing("default") > 20
