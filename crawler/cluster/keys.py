"""The Redis keys of one cluster, all under one prefix (NEWSARCHIVE_CLUSTER_PREFIX)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

DEFAULT_PREFIX = "newsarchive"


def url_digest(url: str) -> bytes:
    """8 bytes standing for an archived URL in the mirror: a set member a tenth the size
    of the URL, and a false match once in 2^64 / (archived URLs), about never."""
    return hashlib.blake2b(url.encode("utf-8"), digest_size=8).digest()


@dataclass(frozen=True)
class Keys:
    prefix: str = DEFAULT_PREFIX

    def _key(self, *parts: object) -> str:
        return ":".join([self.prefix, *map(str, parts)])

    @property
    def queue(self) -> str:  # ZSET: the frontier (scrapy-redis' PriorityQueue)
        return self._key("requests")

    @property
    def processing(self) -> str:  # ZSET: lease id -> deadline (ms, Redis clock)
        return self._key("processing")

    @property
    def lease_prefix(self) -> str:  # HASH per lease: data, score, run, node
        return self._key("lease") + ":"

    @property
    def lease_seq(self) -> str:
        return self._key("lease-seq")

    @property
    def requeued(self) -> str:  # HASH: sha1 of a request -> times its lease expired
        return self._key("requeued")

    @property
    def dropped(self) -> str:  # LIST: requests given up after too many expired leases
        return self._key("dropped")

    @property
    def run_prefix(self) -> str:  # HASH per run: source, status, queued, sent, stored...
        return self._key("run") + ":"

    def run(self, run: str) -> str:
        return self.run_prefix + run

    def run_seen(self, run: str) -> str:  # SET: request fingerprints seen this run
        return self.run(run) + ":seen"

    def run_articles(self, run: str) -> str:  # SET: article URLs requested this run
        return self.run(run) + ":articles"

    @property
    def runs_open(self) -> str:  # SET: runs not yet finished by the writer
        return self._key("runs", "open")

    @property
    def run_seq(self) -> str:
        return self._key("run-seq")

    @property
    def results(self) -> str:  # STREAM: what workers fetched, for the writer
        return self._key("results")

    @property
    def writers(self) -> str:  # the stream's consumer group
        return "writers"

    @property
    def archived(self) -> str:  # SET: url_digest of every archived URL
        return self._key("archived")

    @property
    def archived_ready(self) -> str:  # STRING: set once the mirror holds the archive
        return self._key("archived", "ready")

    def robots(self, netloc: str) -> str:  # STRING: robots.txt body of a host, with TTL
        return self._key("robots", netloc)

    def host(self, netloc: str) -> str:  # prefix of a host's rate-limit keys
        return self._key("host", netloc)

    def slot_lock(self, job: str, slot: str) -> str:  # schedule: one enqueuer per slot
        return self._key("schedule", job, slot)

    @property
    def nodes(self) -> str:  # HASH: node name -> last heartbeat (unix s) of a live node
        return self._key("nodes")
