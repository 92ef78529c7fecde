"""Why a crawl could not reach its sites, one line per cause, for the end of a crawl.

A machine without a network, a site that is down, a proxy that is needed or is not
running: each shows as the same few transport failures on many URLs. Instead of Scrapy's
tracebacks (kept for --verbose), the crawl ends with lines such as

    tech.163.com: DNS lookup failed (2 URLs): no network, or a proxy is needed (https_proxy)

grouped by host and reason, with what to try.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# (reason prefix, what to try), first match wins.
HINTS = (
    ("proxy ", "is the proxy running and reachable? "
               "(http_proxy, https_proxy or the seeds' proxy key)"),
    ("DNS lookup failed", "no network, or a proxy is needed (https_proxy)"),
    ("connection refused", "nothing answers there: the site is down, or a proxy is needed "
                           "(https_proxy)"),
    ("timed out", "the site or the network is slow or blocked: try again later, "
                  "or a proxy (https_proxy)"),
    ("connection lost", "the connection was cut: network trouble, or blocking"),
    ("TLS handshake failed", "the secure connection failed: a proxy or firewall "
                             "intercepting https, or the site's certificate"),
)
# Loggers whose records are about failures the cause lines already report, and
# Scrapy's list of components left off ("Disabled …: no NEWSARCHIVE_WARC_DIR").
REPORTED_ELSEWHERE = ("scrapy.downloadermiddlewares.robotstxt",
                      "scrapy.downloadermiddlewares.retry", "scrapy.middleware")


def _hint(reason: str) -> str | None:
    return next((hint for prefix, hint in HINTS if reason.startswith(prefix)), None)


def unreachable_causes(db: Path, run_ids: list[int]) -> list[str]:
    """The runs' transport failures as 'host: reason (N URLs): hint', most URLs first."""
    if not run_ids:
        return []
    connection = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        marks = ",".join("?" * len(run_ids))
        rows = connection.execute(
            f"select url, reason from failures where run_id in ({marks})", run_ids).fetchall()
    except sqlite3.Error:
        return []
    finally:
        connection.close()
    causes = Counter((urlsplit(url).hostname or url, reason) for url, reason in rows
                     if _hint(reason))
    return [f"{host}: {reason} ({count} URL{'s' if count > 1 else ''}): {_hint(reason)}"
            for (host, reason), count in sorted(causes.items(), key=lambda c: (-c[1], c[0]))]


def quiet_log() -> None:
    """Without --verbose: no tracebacks, and nothing the cause lines will say better.
    (Scrapy replaces its root handler as each crawler starts, so this acts on the
    records themselves and on the two loggers' levels, not on a handler.)"""
    for name in REPORTED_ELSEWHERE:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    make = logging.getLogRecordFactory()

    def without_traceback(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        record.exc_info, record.exc_text = None, None
        return record

    logging.setLogRecordFactory(without_traceback)
