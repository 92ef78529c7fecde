"""Where the crawler may go, and how much it takes: every request, redirects included.

A source's hosts are the hosts of its entry points (start_urls, feeds, sitemaps, jsonp)
and the hosts its `allow` regexes name (`^https?://www\\.163\\.com/...` names
www.163.com; `^https?://[a-z]+\\.163\\.com/...` any host that regex matches). Nothing
else is fetched:

- a request, or a redirect target, on another host is refused before any DNS lookup or
  connection, with a `failures` row: "redirect off-site to http://other.example/…";
- addresses that are not globally routable (loopback, private, link-local such as the
  cloud metadata address 169.254.169.254, unspecified, CGNAT…), in any spelling
  (127.1, 2130706433, [::ffff:127.0.0.1], localhost), are refused unless an entry point
  names that very host and port: the sample site on 127.0.0.1 is named by its seeds, so
  it works, and a redirect from it to another local port does not;
- a host name that resolves to such an address is refused before anything is sent to
  it: the crawl's resolver (crawler/resolver.py) checks every answer before it is cached
  and connected to; through a proxy, the URL's host is looked up here all the same and
  judged by its own answer (`ProxiedHostCheck`), never by the proxy's address;
- only http and https: a redirect to file:// or ftp:// is refused.

Redirect loops are reported ("redirect loop: A → B → A") instead of being dropped in
silence by Scrapy's duplicate filter, which would leave the URL with neither an article
nor a failure.

Sizes: an article page may be at most NEWSARCHIVE_ARTICLE_MAXSIZE bytes (extraction
costs about 65 bytes of memory per byte of HTML, so a page the size of DOWNLOAD_MAXSIZE
would cost a worker a gigabyte); listings, feeds and sitemaps DOWNLOAD_MAXSIZE. Both
bound the body after decompression as well (Scrapy's HttpCompressionMiddleware inflates
in chunks and stops at the request's download_maxsize), so a gzip bomb costs no more.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy import Request, signals
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import HtmlResponse, Response
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.python import to_unicode
from twisted.internet.defer import Deferred
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding
from w3lib.html import get_base_url, get_meta_refresh
from w3lib.url import safe_url_string

from crawler import resolver

DEFAULT_PORTS = {"http": 80, "https": 443}
ARTICLE_KINDS = ("article", "revisit")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
# Names that mean this machine whatever DNS says (RFC 6761).
LOOPBACK_NAMES = re.compile(r"^(localhost|localhost\.localdomain|.*\.localhost)\.?$")
# A host of digits, dots and hex digits is an IPv4 address to getaddrinfo (127.1,
# 2130706433, 0x7f.0.0.1), whatever it looks like.
LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$")


class Refused(IgnoreRequest):
    """A request the crawler will not make; str() is the failure's reason as recorded,
    `redirect_target` where a redirect led when it was the redirect that was refused."""

    def __init__(self, message: str, redirect_target: str | None = None) -> None:
        super().__init__(message)
        self.redirect_target = redirect_target


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str  # lower case; an IP address in its canonical spelling
    port: int
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    loopback_name: bool

    @property
    def local(self) -> bool:
        """Not globally routable: the machine itself, or a private network."""
        return self.loopback or (self.ip is not None and not _unmapped(self.ip).is_global)

    @property
    def loopback(self) -> bool:
        return self.loopback_name or (self.ip is not None and _unmapped(self.ip).is_loopback)


def _unmapped(ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
              ) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """::ffff:127.0.0.1 is 127.0.0.1 on the wire."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def endpoint(url: str) -> Endpoint | None:
    """Scheme, host, port of a URL, IP spellings made canonical; None if it has no host."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower(), 0)
    except ValueError:  # a port that is not a number, a bad IPv6 literal
        return None
    if not host:
        return None
    ip = parse_ip(host)
    if ip is not None:
        ip = _unmapped(ip)  # the address as the connection will use it
    return Endpoint(parts.scheme.lower(), str(ip) if ip else host, port, ip,
                    bool(LOOPBACK_NAMES.match(host)))


def parse_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if LEGACY_IPV4.match(host):
        try:  # the C library's own reading, as the connection would make it
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def host_regexes(allow: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """The host part of each allow regex that spells one out after `://`."""
    found = []
    for pattern in allow:
        part = _host_part(pattern.replace(r"\/", "/"))
        if not part:
            continue
        try:
            found.append(re.compile(part, re.IGNORECASE))
        except re.error:
            continue
    return tuple(found)


def _host_part(pattern: str) -> str | None:
    start = pattern.find("://")
    if start < 0:
        return None
    depth, escaped = 0, False
    for index, char in enumerate(pattern[start + 3:]):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "/" and depth <= 0:
            return pattern[start + 3:start + 3 + index]
    return pattern[start + 3:] or None


@dataclass(frozen=True)
class HostPolicy:
    """Which URLs one source may fetch."""

    named: frozenset[tuple[str, int]]  # (host, port) of every entry point
    named_hosts: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def for_source(cls, source: Any) -> HostPolicy:
        ends = [e for e in (endpoint(u) for u in source.entry_points()) if e is not None]
        return cls(frozenset((e.host, e.port) for e in ends),
                   frozenset(e.host for e in ends), host_regexes(source.allow))

    def refusal(self, url: str) -> str | None:
        """Why `url` may not be fetched; None when it may."""
        scheme = urlsplit(url).scheme.lower()
        if scheme not in DEFAULT_PORTS:
            return f"scheme {scheme}: only http and https are fetched"
        end = endpoint(url)
        if end is None:
            return "no host"
        if end.local:
            if (end.host, end.port) in self.named:
                return None
            return f"{'loopback' if end.loopback else 'private'} address no seed names"
        if end.host in self.named_hosts or any(
                p.fullmatch(end.host) or p.fullmatch(f"{end.host}:{end.port}")
                for p in self.patterns):
            return None
        return "host not among the source's hosts"

    def resolved_refusal(self, url: str, address: Any) -> str | None:
        """Why a response from `address` (the peer it came from) may not be used."""
        end = endpoint(url)
        ip = parse_ip(str(address)) if address is not None else None
        if end is None or ip is None or (end.host, end.port) in self.named:
            return None
        if Endpoint(end.scheme, str(ip), end.port, ip, False).local:
            return f"{end.host} resolved to {ip}, a non-public address no seed names"
        return None


def refusal_message(request: Request, target: str, why: str) -> str:
    if request.meta.get("redirect_urls") or target != request.url:
        return f"redirect off-site to {target} ({why})"
    return f"off-site: {target} ({why})"


def _policy(crawler: Any) -> HostPolicy | None:
    """The running source's policy, made once per crawl; None for a spider without one.
    Its named hosts, and the proxies' hosts, may resolve to local addresses."""
    policy = getattr(crawler, "_newsarchive_hosts", None)
    if policy is None:
        source = getattr(crawler.spider, "source", None)
        if source is None:
            return None
        policy = HostPolicy.for_source(source)
        crawler._newsarchive_hosts = policy
        for host in policy.named_hosts:
            resolver.allow_local_name(host)
        for proxy in [*urllib.request.getproxies().values(), getattr(source, "proxy", None)]:
            resolver.allow_local_name(urlsplit(proxy).hostname if proxy else None)
    return policy


def proxy_of(request: Request) -> str | None:
    """The proxy a request goes through (its URL without credentials), or None."""
    proxy = request.meta.get("proxy")
    if not proxy:
        return None
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}:{parts.port}" if parts.port else f"{parts.scheme}://{host}"


class SafetyMiddleware:
    """Downloader middleware, first in line (before robots.txt is fetched for a host):
    refuses off-site and local requests, sets each request's size limit, stops a body
    at that limit, and refuses responses from hosts that resolved to local addresses."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.maxsize = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        self.article_maxsize = crawler.settings.getint("NEWSARCHIVE_ARTICLE_MAXSIZE") \
            or self.maxsize
        crawler.signals.connect(self.bytes_received, signal=signals.bytes_received)

    @classmethod
    def from_crawler(cls, crawler: Any) -> SafetyMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider: Any = None) -> None:
        policy = _policy(self.crawler)
        why = policy.refusal(request.url) if policy else None
        if why is None and policy is not None:
            why = resolver.refusal_for(urlsplit(request.url).hostname)  # refused this run
        if why:
            raise Refused(refusal_message(request, request.url, why))
        proxy = getattr(self.crawler.spider, "source", None) and self.crawler.spider.source.proxy
        if proxy and "proxy" not in request.meta:
            request.meta["proxy"] = proxy  # the seeds' proxy wins over http(s)_proxy
        limit = self.article_maxsize if request.meta.get("kind") in ARTICLE_KINDS \
            else self.maxsize
        request.meta["download_maxsize"] = min(request.meta.get("download_maxsize", limit),
                                               limit)
        request.meta["newsarchive_bytes"] = 0  # counted afresh on every attempt
        return None

    def bytes_received(self, data: bytes, request: Request, spider: Any = None) -> None:
        received = request.meta.get("newsarchive_bytes", 0) + len(data)
        request.meta["newsarchive_bytes"] = received
        limit = request.meta.get("download_maxsize")
        if limit and received > limit:
            # Before Scrapy's own check on the same chunk, which would cancel the download
            # with an empty message: this failure says what happened (crawler/reasons.py).
            raise StopDownload(fail=True)

    def process_response(self, request: Request, response: Response,
                         spider: Any = None) -> Response:
        policy = _policy(self.crawler)
        if policy is None:
            return response
        # Through a proxy the peer is the proxy: ProxiedHostCheck judged the host instead.
        peer = None if proxy_of(request) else response.ip_address
        why = policy.resolved_refusal(response.url, peer)
        if why:
            raise Refused(refusal_message(request, response.url, why))
        location = response.headers.get("Location")
        if response.status in REDIRECT_STATUSES and location:
            # A redirect Scrapy did not follow: to a scheme it will not fetch (file:, ftp:).
            target = _join(response.url, location)
            why = policy.refusal(target)
            if why:
                raise Refused(refusal_message(request, target, why), redirect_target=target)
        return response


class ProxiedHostCheck:
    """Downloader middleware after Scrapy's HttpProxyMiddleware: a request that goes
    through a proxy never resolves its host here (the proxy does), so the host is
    looked up all the same and refused when its answer is not public. A lookup that
    fails is left to the proxy: it may well know names this machine cannot resolve."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> ProxiedHostCheck:
        return cls(crawler)

    async def process_request(self, request: Request, spider: Any = None) -> None:
        host = urlsplit(request.url).hostname
        if not proxy_of(request) or not host or _policy(self.crawler) is None:
            return None
        from twisted.internet import reactor

        lookup: Deferred[str] = reactor.resolver.getHostByName(host)  # type: ignore[attr-defined]
        try:
            await lookup.asFuture(asyncio.get_running_loop())
        except resolver.NonPublicAnswer as refused:
            raise Refused(refusal_message(request, request.url, str(refused))) from None
        except Exception:  # unresolvable here: the proxy resolves names itself
            return None
        return None


def _join(base: str, location: bytes) -> str:
    return urljoin(base, safe_url_string(location.decode("latin-1")))


class _CheckedRedirects:
    """Redirect middleware mixin: refuse a loop or an off-site target before following it."""

    crawler: Any

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if redirected.url in chain:
            raise Refused("redirect loop: " + " → ".join([*chain, redirected.url]))
        policy = _policy(self.crawler)
        why = policy.refusal(redirected.url) if policy else None
        if why:
            raise Refused(refusal_message(request, redirected.url, why),
                          redirect_target=redirected.url)
        followed = super()._redirect(redirected, request, reason)  # type: ignore[misc]
        # Loops are caught above; the duplicate filter would otherwise drop a redirect to
        # a URL already requested this run without a word, and the first URL would end
        # with neither an article nor a failure.
        followed.dont_filter = True
        return followed


class SafeRedirectMiddleware(_CheckedRedirects, RedirectMiddleware):
    """Scrapy's RedirectMiddleware, with loops and off-site targets refused."""


class SafeMetaRefreshMiddleware(_CheckedRedirects, MetaRefreshMiddleware):
    """Scrapy's MetaRefreshMiddleware, with loops and off-site targets refused, reading
    only the head of the page.

    Scrapy's looks at the first 4,096 characters of `response.text`, which decodes the
    whole body first (270 KB on NetEase: 5% of the crawl process's time) and keeps the
    decoded copy on the response. A refresh tag sits in the <head>: its first
    META_REFRESH_BYTES are decoded here, with the encoding the headers or the page
    declare."""

    def process_response(self, request: Request, response: Response,
                         spider: Any = None) -> Request | Response:
        if (request.meta.get("dont_redirect", False) or request.method == "HEAD"
                or not isinstance(response, HtmlResponse)
                or urlparse_cached(request).scheme not in {"http", "https"}):
            return response
        interval, url = meta_refresh(response, self._ignore_tags)
        if not url:
            return response
        redirected = self._redirect_request_using_get(request, response, url)
        if urlparse_cached(redirected).scheme not in {"http", "https"}:
            return response
        if interval is not None and interval < self._maxdelay:
            return self._redirect(redirected, request, "meta refresh")
        return response


META_REFRESH_BYTES = 16_384  # 4,096 characters, as Scrapy reads, of up to 4 bytes each


def meta_refresh(response: HtmlResponse, ignore_tags: list[str]
                 ) -> tuple[float | None, str | None]:
    """The page's <meta http-equiv="refresh"> (delay, absolute URL), from its head."""
    head = response.body[:META_REFRESH_BYTES]
    content_type = response.headers.get(b"Content-Type")
    declared = (http_content_type_encoding(to_unicode(content_type or b"", "latin-1"))
                or html_body_declared_encoding(head) or "utf-8")
    try:
        text = head.decode(declared, errors="replace")
    except LookupError:  # a charset Python does not know
        text = head.decode("utf-8", errors="replace")
    text = text[:4096]
    return get_meta_refresh(text, get_base_url(text, response.url), ignore_tags=ignore_tags)
