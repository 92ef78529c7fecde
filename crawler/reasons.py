"""Turn a Scrapy/Twisted failure into a short reason a person can act on.

The reasons as recorded in `failures.reason` (RELIABILITY.md lists them): "HTTP 404",
"HTTP 429 (Retry-After: 3600 s, …)", "timed out after 30 s", "too large: …",
"truncated: …", "redirect off-site to …", "redirect loop: …", "too many redirects: …",
"DNS lookup failed", "connection refused", "ignored: Forbidden by robots.txt".
Through a proxy, what the proxy did is said with its URL: "proxy http://127.0.0.1:7890:
connection refused", "proxy …: CONNECT to www.163.com:443 answered 407 Proxy
Authentication Required".
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import TunnelError
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
    StopDownload,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectionDone,
    ConnectionLost,
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed

from crawler.backoff import retry_after_seconds
from crawler.resolver import NonPublicAnswer, refusal_for
from crawler.safety import Refused, proxy_of, refusal_message

# Failures worth another try next run (the rest say something about the URL itself:
# 404, not an article, off-site, too large...).
TRANSIENT_REASONS = ("timed out", "truncated", "connection ", "DNS lookup failed",
                     "response failed", "download cancelled", "extraction failed", "proxy ",
                     "TLS ")
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
TUNNEL_STATUS = re.compile(r"'status': (\d+), 'reason': b?'([^']*)'")
# Transport failures: the proxy's doing when the request went through one.
TRANSPORT_ERRORS = (CannotResolveHostError, DNSLookupError, DownloadConnectionRefusedError,
                    ConnectionRefusedError, ConnectionLost, ConnectionDone,
                    DownloadTimeoutError, TimeoutError, TCPTimedOutError)
EXPECTED_SIZE = re.compile(r"Expected to receive (\d+) bytes .* max size \((\d+)\)")
INFLATED_SIZE = re.compile(r"exceeded DOWNLOAD_MAXSIZE \((\d+) B\) during decompression")


def failure_reason(failure: Failure) -> tuple[str, int | None]:
    """(reason, HTTP status or None) for a failed request."""
    error = failure.value
    request = getattr(failure, "request", None)
    proxy = proxy_of(request) if request is not None else None
    if isinstance(error, (CannotResolveHostError, DNSLookupError)) and request is not None:
        # The crawl's resolver refused the answer (crawler/resolver.py).
        why = str(error) if isinstance(error, NonPublicAnswer) else \
            refusal_for(urlsplit(request.url).hostname)
        if why and not proxy:
            return refusal_message(request, request.url, why), None
    if isinstance(error, TunnelError):
        return _tunnel_reason(str(error), proxy, request), None
    reason, status = _reason(error, request)
    if proxy and (isinstance(error, TRANSPORT_ERRORS) or status == 407):
        if status == 407:
            return f"proxy {proxy}: {reason} (Proxy Authentication Required)", status
        return f"proxy {proxy}: {reason}", status
    return reason, status


def _tunnel_reason(message: str, proxy: str | None, request: Request | None) -> str:
    found = TUNNEL_STATUS.search(message)
    target = urlsplit(request.url) if request is not None else None
    where = f"{target.hostname}:{target.port or 443}" if target else "the site"
    answer = f"answered {found[1]} {found[2]}".rstrip() if found else "failed"
    return f"proxy {proxy or 'in use'}: CONNECT to {where} {answer}"


def _reason(error: BaseException, request: Request | None) -> tuple[str, int | None]:
    meta = request.meta if request is not None else {}
    if isinstance(error, HttpError):
        return _http_reason(error), error.response.status
    if isinstance(error, Refused):
        return str(error), None
    if isinstance(error, (DownloadTimeoutError, TimeoutError, TCPTimedOutError)):
        timeout = meta.get("download_timeout")
        return (f"timed out after {timeout:g} s" if timeout else "timed out"), None
    if isinstance(error, StopDownload):  # crawler.safety stops a body at its size limit
        return f"too large: more than {_mb(meta.get('download_maxsize'))}", None
    if isinstance(error, DownloadCancelledError):
        sizes = EXPECTED_SIZE.search(str(error))
        if sizes:
            return (f"too large: {_mb(int(sizes[1]))} announced, over the "
                    f"{_mb(int(sizes[2]))} limit"), None
        return "download cancelled", None
    if isinstance(error, IgnoreRequest):
        return _ignored_reason(error, request), None
    if isinstance(error, ResponseDataLossError):
        return ("truncated: the connection closed before the body announced by "
                "Content-Length arrived"), None
    if isinstance(error, (CannotResolveHostError, DNSLookupError)):
        return "DNS lookup failed", None
    if isinstance(error, (DownloadConnectionRefusedError, ConnectionRefusedError)):
        return "connection refused", None
    if isinstance(error, (ConnectionLost, ConnectionDone)):
        return "connection lost", None
    if isinstance(error, ResponseFailed):
        tls = _tls_reason(error)
        if tls:
            return tls, None
        detail = error.reasons[0].getErrorMessage() if error.reasons else "truncated"
        return f"response failed: {detail}", None
    if isinstance(error, DownloadFailedError):
        return _tls_reason(error) or f"response failed: {error}"[:500], None
    return f"{type(error).__name__}: {error}"[:500], None


def _http_reason(error: HttpError) -> str:
    response = error.response
    reason = f"HTTP {response.status}"
    header = response.headers.get("Retry-After")
    if header is not None:
        wait = retry_after_seconds(header)
        told = header.decode("latin-1").strip()
        shown = f"{wait:.0f} s" if wait is not None and told.isdigit() else told
        if wait is not None and response.request is not None \
                and response.request.meta.get("dont_retry"):
            return f"{reason} (Retry-After: {shown}, too long to wait this run)"
        return f"{reason} (Retry-After: {shown})"
    return reason


def _ignored_reason(error: IgnoreRequest, request: Request | None) -> str:
    message = str(error)
    inflated = INFLATED_SIZE.search(message)
    if inflated:
        return f"too large: more than {_mb(int(inflated[1]))} once decompressed"
    if message == "max redirections reached" and request is not None:
        hops = len(request.meta.get("redirect_urls", []))
        return f"too many redirects: {hops} followed, the last to {request.url}"
    return f"ignored: {message}" if message else "ignored"


def _mb(size: int | None) -> str:
    if not size:
        return "the size limit"
    return f"{size / (1024 * 1024):g} MB" if size >= 1024 * 1024 else f"{size} bytes"


def _tls_reason(error: BaseException) -> str | None:
    """A TLS handshake that failed (a certificate, a protocol mismatch), if it was one.
    Scrapy wraps Twisted's ResponseFailed / ResponseNeverReceived, whose `reasons` hold
    the OpenSSL error."""
    try:
        from OpenSSL.SSL import Error as TLSError
    except ImportError:  # pragma: no cover - Scrapy installs pyOpenSSL
        return None
    for candidate in (error, error.__cause__):
        for reason in getattr(candidate, "reasons", None) or []:
            if reason.check(TLSError):
                return f"TLS handshake failed: {_openssl_text(reason.value)}"[:500]
    return None


def _openssl_text(error: BaseException) -> str:
    """'wrong version number' from [('SSL routines', '', 'wrong version number')]."""
    details = error.args[0] if error.args else None
    if isinstance(details, list) and details and all(isinstance(d, tuple) for d in details):
        return "; ".join(str(d[-1]) for d in details if d and d[-1]) or str(error)
    return str(error)


def is_transient(reason: str, status: int | None) -> bool:
    """Whether a failure may well go away by itself (a timeout, a 503, a 429)."""
    return status in TRANSIENT_STATUSES or reason.startswith(TRANSIENT_REASONS)
