"""Politeness across nodes: one delay per host for the whole cluster, robots.txt once.

Scrapy's DOWNLOAD_DELAY and AutoThrottle count per process: N nodes would hit a host N
times as often. Here a host is a small lock in Redis: one request to it at a time in the
whole cluster, and the next one only NEWSARCHIVE_HOST_DELAY seconds after the previous
answer came in (Redis' clock). Measured from answer to next request, not request to
request, the delay holds at the server whatever the network's or the nodes' jitter.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from scrapy_redis.connection import get_redis_from_settings
from twisted.internet.defer import Deferred

from crawler.cluster.keys import Keys

logger = logging.getLogger(__name__)

# KEYS: host prefix. ARGV: hold ms (the lock's life if its node dies), token.
# Returns 0 when the host is ours, else how many ms to wait before asking again.
_ACQUIRE = """
local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)
local busy = redis.call('PTTL', KEYS[1] .. ':busy')
if busy > 0 then return math.min(busy, 100) end
local after = tonumber(redis.call('GET', KEYS[1] .. ':next') or '0')
if now < after then return after - now end
redis.call('SET', KEYS[1] .. ':busy', ARGV[2], 'PX', ARGV[1])
return 0
"""

# KEYS: host prefix. ARGV: delay ms, token.
_RELEASE = """
local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)
local after = now + tonumber(ARGV[1])
local before = tonumber(redis.call('GET', KEYS[1] .. ':next') or '0')
if after > before then
  redis.call('SET', KEYS[1] .. ':next', after, 'PX', tonumber(ARGV[1]) + 60000)
end
if redis.call('GET', KEYS[1] .. ':busy') == ARGV[2] then redis.call('DEL', KEYS[1] .. ':busy') end
return 1
"""


class HostRateLimitMiddleware:
    """Downloader middleware, last before the download: waits its host's turn."""

    def __init__(self, crawler: Any) -> None:
        settings = crawler.settings
        self.delay_ms = int(settings.getfloat("NEWSARCHIVE_HOST_DELAY") * 1000)
        if self.delay_ms <= 0:
            raise NotConfigured  # no limit: Scrapy's own per-process settings apply
        self.hold_ms = int((settings.getfloat("DOWNLOAD_TIMEOUT") + 30) * 1000)
        self.server = get_redis_from_settings(settings)
        self.keys = Keys(settings.get("NEWSARCHIVE_CLUSTER_PREFIX"))
        self._acquire = self.server.register_script(_ACQUIRE)
        self._release = self.server.register_script(_RELEASE)
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> HostRateLimitMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request, spider: Any = None) -> None:
        host = self.keys.host(urlparse_cached(request).netloc)
        token = uuid.uuid4().hex
        waited = 0
        while (wait := int(self._acquire(keys=[host], args=[self.hold_ms, token]))) > 0:
            waited += wait
            await asyncio.sleep(wait / 1000)
        request.meta["host_turn"] = (host, token)
        self.stats.inc_value("newsarchive/host_wait_ms", waited)

    def process_response(self, request: Request, response: Response,
                         spider: Any = None) -> Response:
        self._done(request)
        return response

    def process_exception(self, request: Request, exception: Exception,
                          spider: Any = None) -> None:
        self._done(request)

    def _done(self, request: Request) -> None:
        turn = request.meta.pop("host_turn", None)
        if turn is not None:
            self._release(keys=[turn[0]], args=[self.delay_ms, turn[1]])


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, reading the file from Redis when a node fetched it
    in the last NEWSARCHIVE_ROBOTS_TTL seconds: one fetch per host for the cluster. A
    failed fetch (allow all, as Scrapy does) is kept 5 minutes only. Each node also looks
    again after that TTL, where Scrapy would keep a host's first answer for the process's
    life: a worker runs for weeks."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.server = get_redis_from_settings(crawler.settings)
        self.keys = Keys(crawler.settings.get("NEWSARCHIVE_CLUSTER_PREFIX"))
        self.ttl = crawler.settings.getint("NEWSARCHIVE_ROBOTS_TTL")
        self._fresh_until: dict[str, float] = {}

    async def robot_parser(self, request: Request) -> Any:
        netloc = urlparse_cached(request).netloc
        known = self._parsers.get(netloc)
        if not isinstance(known, Deferred) and time.monotonic() > self._fresh_until.get(
                netloc, 0):
            self._parsers.pop(netloc, None)
            cached = self.server.get(self.keys.robots(netloc))
            if cached is not None:
                self._parsers[netloc] = self._parser_of(cached)
                self._fresh_until[netloc] = time.monotonic() + self.ttl
        return await super().robot_parser(request)

    def _parser_of(self, cached: bytes) -> Any:
        if not cached.startswith(b"ok:"):
            return None
        return build_from_crawler(self._parserimpl, self.crawler, cached[3:])

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        self.server.set(self.keys.robots(netloc), b"ok:" + response.body, ex=self.ttl)
        self._fresh_until[netloc] = time.monotonic() + self.ttl
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        self.server.set(self.keys.robots(netloc), b"error", ex=300)
        self._fresh_until[netloc] = time.monotonic() + 300
        super()._robots_error(exc, netloc)
