"""Turn a Scrapy/Twisted failure into a short reason a person can act on."""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed


def failure_reason(failure: Failure) -> tuple[str, int | None]:
    """(reason, HTTP status or None) for a failed request."""
    error = failure.value
    if isinstance(error, HttpError):
        status = error.response.status
        return f"HTTP {status}", status
    if isinstance(error, DNSLookupError):
        return "DNS lookup failed", None
    if isinstance(error, (TimeoutError, TCPTimedOutError)):
        return "timed out", None
    if isinstance(error, ConnectionRefusedError):
        return "connection refused", None
    if isinstance(error, ResponseFailed):
        detail = error.reasons[0].getErrorMessage() if error.reasons else "truncated"
        return f"response failed: {detail}", None
    if isinstance(error, IgnoreRequest):
        return f"ignored: {error}" if str(error) else "ignored", None
    return f"{type(error).__name__}: {error}"[:500], None
