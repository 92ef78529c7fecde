"""The shared frontier: scrapy-redis' scheduler, queue and duplicate filter, with leases.

scrapy-redis' PriorityQueue pops a request off the ZSET: a node killed while fetching it
loses it for good. Here a pop moves the request, in one Lua script, into a lease: a hash
holding it and a `processing` ZSET entry with a deadline on Redis' clock. The node renews
its leases while it works and lets a lease go (ack) once all that came of the request is
safe in Redis (its results in the stream, its new requests in the queue). A lease whose
deadline passes (its node died) is put back in the queue by whichever node looks next.

Each request carries its run (`meta["run"]`), so that a run knows how many of its
requests are queued or in flight (`queued` in the run's hash): the archive writer closes
the run when that is 0 and every result sent has been stored.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

from scrapy import Request
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from crawler.cluster.keys import Keys

logger = logging.getLogger(__name__)

# Redis' clock in ms, so that every node agrees on deadlines whatever their own clocks.
_NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) "

# KEYS: queue. ARGV: run hash prefix, score, data, run.
_PUSH = """
if redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3]) == 1 and ARGV[4] ~= '' then
  redis.call('HINCRBY', ARGV[1] .. ARGV[4], 'queued', 1)
  return 1
end
return 0
"""

# KEYS: queue, processing, lease-seq. ARGV: lease prefix, lease ms, node.
_POP = _NOW + """
local r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #r == 0 then return false end
redis.call('ZREM', KEYS[1], r[1])
local id = tostring(redis.call('INCR', KEYS[3]))
local run = string.sub(r[1], 1, (string.find(r[1], '\\0', 1, true) or 1) - 1)
redis.call('HSET', ARGV[1] .. id, 'data', r[1], 'score', r[2], 'run', run, 'node', ARGV[3])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), id)
return {id, r[1]}
"""

# KEYS: processing. ARGV: lease prefix, run hash prefix, lease id.
_ACK = """
if redis.call('ZREM', KEYS[1], ARGV[3]) == 0 then return 0 end
local run = redis.call('HGET', ARGV[1] .. ARGV[3], 'run')
redis.call('DEL', ARGV[1] .. ARGV[3])
if run and run ~= '' then redis.call('HINCRBY', ARGV[2] .. run, 'queued', -1) end
return 1
"""

# KEYS: processing. ARGV: lease ms, ids...; returns the ids no longer leased.
_RENEW = _NOW + """
local gone = {}
for i = 2, #ARGV do
  if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[i]) == 0
     and not redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    table.insert(gone, ARGV[i])
  end
end
return gone
"""

# Give leases back to the queue: those past their deadline (ARGV[4] == '') or the ids
# listed after it (a node stopping cleanly). A request whose lease expired `max` times
# (it kills the nodes that take it?) is set aside in the `dropped` list instead.
# KEYS: queue, processing, requeued, dropped. ARGV: lease prefix, run prefix, max, ids...
_REQUEUE = _NOW + """
local ids
if #ARGV < 4 then
  ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 200)
else
  ids = {}
  for i = 4, #ARGV do ids[#ids + 1] = ARGV[i] end
end
local back = 0
for _, id in ipairs(ids) do
  if redis.call('ZREM', KEYS[2], id) == 1 then
    local lease = ARGV[1] .. id
    local data = redis.call('HGET', lease, 'data')
    local run = redis.call('HGET', lease, 'run')
    if data then
      local tries = 0
      if #ARGV < 4 then tries = redis.call('HINCRBY', KEYS[3], redis.sha1hex(data), 1) end
      local requeued = 0
      if tries < tonumber(ARGV[3]) then
        requeued = redis.call('ZADD', KEYS[1], redis.call('HGET', lease, 'score'), data)
        back = back + 1
      else
        redis.call('LPUSH', KEYS[4], data)
      end
      if requeued == 0 and run and run ~= '' then
        redis.call('HINCRBY', ARGV[2] .. run, 'queued', -1)
      end
    end
    redis.call('DEL', lease)
  end
end
return back
"""


def node_name() -> str:
    """This process as the cluster names it: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Leases:
    """The lease scripts against one Redis, for the scheduler and whoever acks."""

    def __init__(self, server: Any, keys: Keys, lease_seconds: float, max_expiries: int = 3,
                 node: str = "") -> None:
        self.server = server
        self.keys = keys
        self.lease_ms = int(lease_seconds * 1000)
        self.max_expiries = max_expiries
        self.node = node or node_name()
        self._push = server.register_script(_PUSH)
        self._pop = server.register_script(_POP)
        self._ack = server.register_script(_ACK)
        self._renew = server.register_script(_RENEW)
        self._requeue = server.register_script(_REQUEUE)

    def push(self, data: bytes, score: float, run: str) -> bool:
        return bool(self._push(keys=[self.keys.queue],
                               args=[self.keys.run_prefix, score, data, run]))

    def pop(self) -> tuple[str, bytes] | None:
        found = self._pop(keys=[self.keys.queue, self.keys.processing, self.keys.lease_seq],
                          args=[self.keys.lease_prefix, self.lease_ms, self.node])
        if not found:
            return None
        return found[0].decode(), found[1]

    def ack(self, lease: str) -> bool:
        return bool(self._ack(keys=[self.keys.processing],
                              args=[self.keys.lease_prefix, self.keys.run_prefix, lease]))

    def renew(self, leases: list[str]) -> list[str]:
        """Push the deadlines of these leases on; those already gone."""
        if not leases:
            return []
        gone = self._renew(keys=[self.keys.processing], args=[self.lease_ms, *leases])
        return [g.decode() for g in gone]

    def requeue(self, leases: list[str] | None = None) -> int:
        """Put expired leases (or these) back in the queue; how many went back."""
        if leases == []:
            return 0
        keys = [self.keys.queue, self.keys.processing, self.keys.requeued, self.keys.dropped]
        return int(self._requeue(keys=keys, args=[self.keys.lease_prefix, self.keys.run_prefix,
                                                  self.max_expiries, *(leases or [])]))


def leases_for(settings: Any, server: Any) -> Leases:
    return Leases(server, Keys(settings.get("NEWSARCHIVE_CLUSTER_PREFIX")),
                  settings.getfloat("NEWSARCHIVE_CLUSTER_LEASE"),
                  settings.getint("NEWSARCHIVE_CLUSTER_MAX_EXPIRIES"),
                  settings.get("NEWSARCHIVE_NODE") or "")


class LeasedQueue(PriorityQueue):
    """scrapy-redis' priority queue (a ZSET by -priority) whose pop takes a lease.

    A member is `run \\0 serialized request`, so that the scripts know the request's run
    without reading the request."""

    leases: Leases

    def _encode_request(self, request: Request) -> bytes:
        run = str(request.meta.get("run") or "")
        return run.encode() + b"\0" + super()._encode_request(request)

    def _decode_request(self, encoded_request: bytes) -> Request:
        return super()._decode_request(encoded_request.split(b"\0", 1)[1])

    def push(self, request: Request) -> None:
        self.leases.push(self._encode_request(request), -request.priority,
                         str(request.meta.get("run") or ""))

    def pop(self, timeout: int = 0) -> Request | None:
        found = self.leases.pop()
        if found is None:
            return None
        lease, data = found
        try:
            request = self._decode_request(data)
        except Exception:  # a request this node cannot read (another version's spider?)
            logger.exception("cannot read request of lease %s: given back", lease)
            self.leases.requeue([lease])
            return None
        request.meta["lease"] = lease
        return request


class LeasedScheduler(Scheduler):
    """scrapy-redis' Scheduler over LeasedQueue: renews this node's leases, puts back
    expired ones, and lets a lease go when its request comes back as a retry or redirect
    (the new request is queued first, then the old lease let go)."""

    crawler: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> LeasedScheduler:
        scheduler = super().from_crawler(crawler)
        scheduler.crawler = crawler
        scheduler.leases = leases_for(crawler.settings, scheduler.server)
        scheduler.held: set[str] = set()
        return scheduler

    def open(self, spider: Any) -> None:
        super().open(spider)
        self.queue.leases = self.leases
        spider.frontier = self  # the spider and the stream pipeline ack through it
        self._last_sweep = 0.0
        self._renewal = task.LoopingCall(self._renew)
        self._renewal.start(max(0.5, self.leases.lease_ms / 3000), now=False)
        self._heartbeat()

    def close(self, reason: str) -> None:
        if self._renewal.running:
            self._renewal.stop()
        # A clean stop gives back what it had not finished at once, rather than at the
        # leases' deadlines.
        back = self.leases.requeue(sorted(self.held))
        if back:
            logger.info("gave %d unfinished requests back to the frontier", back)
        self.server.hdel(self.leases.keys.nodes, self.leases.node)
        super().close(reason)

    def enqueue_request(self, request: Request) -> bool:
        lease = request.meta.pop("lease", None)
        queued = super().enqueue_request(request)
        if lease is not None:
            self.release(lease)
        return queued

    def next_request(self) -> Request | None:
        self._sweep()
        request = super().next_request()
        if request is not None:
            self.held.add(request.meta["lease"])
        return request

    def release(self, lease: str) -> None:
        """All that came of the leased request is in Redis: let the lease go."""
        self.held.discard(lease)
        self.leases.ack(lease)

    def _renew(self) -> None:
        try:
            self.held.difference_update(self.leases.renew(sorted(self.held)))
            self._sweep(force=True)
            self._heartbeat()
        except Exception:  # Redis away a moment: the next round tries again
            logger.exception("renewing leases")

    def _heartbeat(self) -> None:
        """This node is up and taking requests: its name and the time in `nodes`."""
        self.server.hset(self.leases.keys.nodes, self.leases.node, int(time.time()))

    def _sweep(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_sweep > 1.0:
            self._last_sweep = now
            back = self.leases.requeue()
            if back:
                logger.info("%d requests of dead nodes back in the frontier", back)


class RunDupeFilter(RFPDupeFilter):
    """scrapy-redis' duplicate filter with one key per run, expiring: fingerprints of
    finished runs do not pile up for ever (scrapy issue #5307). Across runs, the archive's
    mirror (spider.py) is what keeps a node from fetching an archived article again."""

    ttl: int = 2 * 24 * 3600
    keys: Keys

    @classmethod
    def from_spider(cls, spider: Any) -> RunDupeFilter:
        from scrapy_redis.connection import get_redis_from_settings

        settings = spider.settings
        dupefilter = cls(get_redis_from_settings(settings), key="",
                         debug=settings.getbool("DUPEFILTER_DEBUG"))
        dupefilter.keys = Keys(settings.get("NEWSARCHIVE_CLUSTER_PREFIX"))
        dupefilter.ttl = settings.getint("NEWSARCHIVE_CLUSTER_RUN_TTL")
        return dupefilter

    def request_seen(self, request: Request) -> bool:
        key = self.keys.run_seen(str(request.meta.get("run") or "none"))
        pipe = self.server.pipeline()
        pipe.sadd(key, self.request_fingerprint(request))
        pipe.expire(key, self.ttl, nx=True)
        added, _ = pipe.execute()
        return added == 0

    def clear(self) -> None:
        pass  # per-run keys expire by themselves
