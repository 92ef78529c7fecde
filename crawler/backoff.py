"""Honour Retry-After on the statuses Scrapy retries (429, 503, ...).

Scrapy's RetryMiddleware retries at once. A server that says how long to wait is
answered politely instead: a wait of up to NEWSARCHIVE_RETRY_AFTER_MAX seconds happens
before the retry; a longer one is not retried this run (the `failures` row says
"HTTP 429 (Retry-After: 3600 s, …)"), and as the URL is not archived the next run
that finds it fetches it again.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy import Request
from scrapy.http import Response


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delay-seconds or an HTTP date); None if
    there is none or it cannot be read."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryAfterMiddleware:
    """Downloader middleware placed before RetryMiddleware in the response path."""

    def __init__(self, crawler: Any) -> None:
        settings = crawler.settings
        self.max_wait = settings.getfloat("NEWSARCHIVE_RETRY_AFTER_MAX")
        self.codes = {int(c) for c in settings.getlist("RETRY_HTTP_CODES")}
        self.retry_times = settings.getint("RETRY_TIMES")
        self.enabled = settings.getbool("RETRY_ENABLED")

    @classmethod
    def from_crawler(cls, crawler: Any) -> RetryAfterMiddleware:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response,
                               spider: Any = None) -> Response:
        if not self.enabled or response.status not in self.codes \
                or request.meta.get("dont_retry"):
            return response
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        if wait is None:
            return response
        if wait > self.max_wait:
            request.meta["dont_retry"] = True  # RetryMiddleware, next, lets it through
            return response
        retries_left = request.meta.get("max_retry_times", self.retry_times) \
            - request.meta.get("retry_times", 0)
        if retries_left > 0:
            # Only this request waits; the other downloads go on meanwhile.
            await asyncio.sleep(wait)
        return response
