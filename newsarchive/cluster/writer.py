"""The one archive writer of a cluster: the results stream into SQLite.

It reads the stream in the consumer group `writers`, stores each result as a crawl's
StorePipeline does (one transaction: page, article, dedup, search index), and
acknowledges the entry after the commit. The entry's id is written in the same
transaction (`cluster_deliveries`): an entry delivered again (a writer killed after its
commit and before its XACK) is acknowledged without being stored twice. Entries a dead
writer left pending are claimed (XAUTOCLAIM) once idle for `claim_after` seconds.

After the commit it also mirrors the article's URLs into Redis (nodes skip archived
URLs by it) and closes the runs whose requests are all done and results all stored.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from archive import open_archive
from archive.runs import now_iso
from archive.store import ArchiveWriter
from archive.transactions import write_transaction
from crawler.cluster.keys import Keys, url_digest
from crawler.cluster.results import Result, decode
from crawler.items import AliasItem, FailureItem, ListingItem, PageItem, RemovedItem
from crawler.seeds import Source

logger = logging.getLogger(__name__)

# KEYS: stream, run hash. ARGV: group, entry id. The stored count moves with the XACK.
_ACK = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[2], 'stored', 1)
  return 1
end
return 0
"""

# KEYS: run hash. One writer closes a run: the one that moves it to `closing`.
_CLOSE = """
local v = redis.call('HMGET', KEYS[1], 'status', 'queued', 'sent', 'stored')
if v[1] ~= 'running' then return 0 end
if tonumber(v[2] or '0') > 0 or tonumber(v[3] or '0') ~= tonumber(v[4] or '0') then
  return 0
end
redis.call('HSET', KEYS[1], 'status', 'closing')
return 1
"""

MIRROR_BATCH = 10_000
DONE_RUN_TTL = 7 * 24 * 3600  # a finished run's summary, for `crawl --wait` and a look


class ClusterWriter:
    def __init__(self, server: redis.Redis, db: Path, sources: dict[str, Source], *,
                 consumer: str, keys: Keys | None = None, claim_after: float = 60.0,
                 batch: int = 64) -> None:
        self.server = server
        self.keys = keys or Keys()
        self.sources = sources
        self.consumer = consumer
        self.claim_after_ms = int(claim_after * 1000)
        self.batch = batch
        self.db = open_archive(db)
        self.archive = ArchiveWriter(self.db)
        self._ack = server.register_script(_ACK)
        self._close = server.register_script(_CLOSE)
        self._runs: dict[str, int] = {}
        self._claim_from = "0-0"
        self._own_pending = True  # read what this consumer name was given before first
        self._last_upkeep = 0.0
        self.stored = 0

    # The loop -------------------------------------------------------------------

    def run(self, stop: Callable[[], bool], block_ms: int = 1000) -> None:
        """Store results until `stop()` says so."""
        self.prepare()
        while not stop():
            self.step(block_ms)

    def prepare(self) -> None:
        try:
            self.server.xgroup_create(self.keys.results, self.keys.writers, id="0",
                                      mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self.mirror_archive()

    def step(self, block_ms: int = 1000) -> int:
        """Store one batch (this consumer's pending, a dead writer's, or new); upkeep."""
        entries = self._own() or self._claimed() or self._new(block_ms)
        for entry_id, fields in entries:
            self.apply(entry_id.decode() if isinstance(entry_id, bytes) else entry_id, fields)
        if time.monotonic() - self._last_upkeep > 1.0 or not entries:
            self._last_upkeep = time.monotonic()
            self.close_finished_runs()
            self.trim()
            self.mirror_archive()
        return len(entries)

    def _own(self) -> list[Any]:
        if not self._own_pending:
            return []
        found = self.server.xreadgroup(self.keys.writers, self.consumer,
                                       {self.keys.results: "0"}, count=self.batch)
        entries = found[0][1] if found else []
        if not entries:
            self._own_pending = False
        return entries

    def _claimed(self) -> list[Any]:
        cursor, entries, *_ = self.server.xautoclaim(
            self.keys.results, self.keys.writers, self.consumer, self.claim_after_ms,
            start_id=self._claim_from, count=self.batch)
        self._claim_from = cursor.decode() if isinstance(cursor, bytes) else cursor
        if entries:
            logger.info("claimed %d results a dead writer left pending", len(entries))
        return entries

    def _new(self, block_ms: int) -> list[Any]:
        found = self.server.xreadgroup(self.keys.writers, self.consumer,
                                       {self.keys.results: ">"}, count=self.batch,
                                       block=block_ms)
        return found[0][1] if found else []

    # One entry -------------------------------------------------------------------

    def apply(self, entry_id: str, fields: dict[bytes, bytes] | None) -> bool:
        """Store one entry, once; acknowledge it. True if stored now."""
        if not fields:  # trimmed away while pending: nothing left to store
            self.server.xack(self.keys.results, self.keys.writers, entry_id)
            return False
        try:
            result = decode(fields)
        except ValueError as exc:
            self._set_aside(entry_id, fields, str(exc))
            return False
        ms, seq = (int(part) for part in entry_id.split("-"))
        run_id = self._run_id(result)
        try:
            with self.archive.near.writing():
                stored = self.db.execute("select 1 from cluster_deliveries where ms = ? "
                                         "and seq = ?", [ms, seq]).fetchone() is None
                if stored:
                    self.db.execute("insert into cluster_deliveries (ms, seq) values (?, ?)",
                                    [ms, seq])
                    self._store(run_id, result)
        except sqlite3.OperationalError:
            raise  # locked, disk full: the entry stays pending for the next attempt
        except Exception as exc:  # this result cannot be stored: say so, go on
            logger.exception("result %s not stored", entry_id)
            self._set_aside(entry_id, fields, f"{type(exc).__name__}: {exc}")
            return False
        self._mirror(result)
        self._ack(keys=[self.keys.results, self.keys.run(result.run)],
                  args=[self.keys.writers, entry_id])
        self.stored += stored
        return stored

    def _store(self, run_id: int, result: Result) -> None:
        """What StorePipeline.process_item does, for one result (a transaction is open)."""
        item, archive = result.item, self.archive
        if isinstance(item, PageItem) and self._stored_in_run(run_id, item.page.url):
            # A node killed after its XADD and before letting its lease go: the request
            # was fetched again by another node, and this is the second result.
            logger.info("%s already stored in this run: a refetch after a lost lease",
                        item.page.url)
            return
        if isinstance(item, PageItem):
            source = self.sources.get(item.source)
            archive.revisit_after = source.revisit if source else ()
            item.outcome = archive.store(
                run_id, item.source, item.page, item.article, fingerprint=item.fingerprint,
                revisit=item.revisit, segmented=item.segmented, body_blob=item.body_blob,
                body_codec=item.body_codec, profile=item.profile,
                previous_segmented=item.previous_segmented)
            self.db.execute("update pages set node = ? where id = (select max(id) from pages "
                            "where run_id = ? and url = ?)", [result.node, run_id, item.page.url])
            if item.extract_error:
                archive.record_failure(run_id, item.page.url, item.extract_error,
                                       item.page.status)
            elif item.outcome == "not-article":
                archive.record_failure(run_id, item.page.url,
                                       "not an article: no body text found", item.page.status)
        elif isinstance(item, FailureItem):
            archive.record_failure(run_id, item.url, item.reason, item.status)
        elif isinstance(item, RemovedItem):
            archive.mark_removed(run_id, item.url, item.reason)
        elif isinstance(item, AliasItem):
            archive.link_url(item.url, item.canonical_url)
        elif isinstance(item, ListingItem):
            # Validators are not kept in a cluster run (docs/cluster.md): no 304s.
            archive.save_listing_state(run_id, item.url, item.status, None, None)

    def _stored_in_run(self, run_id: int, url: str) -> bool:
        return self.db.execute("select 1 from pages where url = ? and run_id = ?",
                               [url, run_id]).fetchone() is not None

    def _set_aside(self, entry_id: str, fields: dict[bytes, bytes], why: str) -> None:
        """An entry that cannot be stored: kept in the `<prefix>:unstored` list with the
        reason, and acknowledged, so that it does not block the stream."""
        logger.error("result %s set aside: %s", entry_id, why)
        meta = fields.get(b"meta", b"")[:2000].decode("utf-8", "replace")
        self.server.lpush(self.keys.results + ":unstored",
                          json.dumps({"entry": entry_id, "reason": why, "meta": meta}))
        self.server.xack(self.keys.results, self.keys.writers, entry_id)

    def _mirror(self, result: Result) -> None:
        """The archive's new URLs into the mirror nodes look archived URLs up in."""
        item = result.item
        urls: set[str] = set()
        if isinstance(item, PageItem) and item.article is not None:
            urls = {item.page.url, item.page.final_url, item.article["url"],
                    item.article["canonical_url"]}
        elif isinstance(item, AliasItem):
            urls = {item.url}
        if urls:
            self.server.sadd(self.keys.archived, *map(url_digest, urls))

    # Runs ------------------------------------------------------------------------

    def _run_id(self, result: Result) -> int:
        """The `crawl_runs` row of the result's cluster run, made on its first result."""
        if result.run not in self._runs:
            self._runs[result.run] = self._run_row(result.run, result.item.source)
        return self._runs[result.run]

    def _run_row(self, run: str, source: str) -> int:
        with write_transaction(self.db):
            row = self.db.execute("select id from crawl_runs where cluster_run = ?",
                                  [run]).fetchone()
            if row:
                return int(row[0])
            started = self.server.hget(self.keys.run(run), "started_at")
            cursor = self.db.execute(
                "insert into crawl_runs (source, started_at, status, cluster_run) "
                "values (?, ?, 'running', ?)",
                [source, started.decode() if started else now_iso(), run])
            return int(cursor.lastrowid)

    def close_finished_runs(self) -> list[str]:
        """Close the open runs whose requests are all done and results all stored."""
        closed = []
        for raw in self.server.smembers(self.keys.runs_open):
            run = raw.decode()
            if not self._close(keys=[self.keys.run(run)]):
                continue
            source = (self.server.hget(self.keys.run(run), "source") or b"").decode()
            run_id = self._runs.pop(run, None) or self._run_row(run, source)
            counts = self.archive.run_counts(run_id)
            status = "failed" if counts["listings_read"] == 0 and \
                counts["pages_fetched"] == 0 else "ok"
            final = self.archive.finish_run(run_id, status, "finished")
            pipe = self.server.pipeline()
            pipe.hset(self.keys.run(run), mapping={"status": status, "archive_run": run_id,
                                                  "finished_at": now_iso(), **final})
            pipe.expire(self.keys.run(run), DONE_RUN_TTL)
            pipe.delete(self.keys.run_seen(run), self.keys.run_articles(run))
            pipe.srem(self.keys.runs_open, run)
            pipe.execute()
            logger.info("run %s finished: %s", run, status)
            closed.append(run)
        return closed

    # Bounded state ---------------------------------------------------------------

    def trim(self) -> None:
        """Drop the stream entries every writer has acknowledged, and the delivery
        records no entry can be delivered again under."""
        try:
            pending = self.server.xpending(self.keys.results, self.keys.writers)
            groups = self.server.xinfo_groups(self.keys.results)
        except redis.ResponseError:
            return
        group = next((g for g in groups if g["name"] in (self.keys.writers,
                                                          self.keys.writers.encode())), None)
        if group is None:
            return
        oldest = pending["min"] if pending["pending"] else group["last-delivered-id"]
        oldest = oldest.decode() if isinstance(oldest, bytes) else oldest
        if oldest in (None, "0-0"):
            return
        ms, seq = (int(part) for part in oldest.split("-"))
        if not pending["pending"]:
            seq += 1  # the last delivered is acknowledged too: it goes as well
        self.server.xtrim(self.keys.results, minid=f"{ms}-{seq}", approximate=False)
        with write_transaction(self.db):
            self.db.execute("delete from cluster_deliveries where ms < ? or (ms = ? and seq < ?)",
                            [ms, ms, seq])

    def mirror_archive(self) -> int:
        """Fill the mirror from `article_urls` unless it is there (a fresh Redis, or one
        that lost its data); how many URLs were added."""
        if self.server.exists(self.keys.archived_ready):
            return 0
        added, last = 0, ""
        while True:
            urls = [row[0] for row in self.db.execute(
                "select url from article_urls where url > ? order by url limit ?",
                [last, MIRROR_BATCH])]
            if not urls:
                break
            added += self.server.sadd(self.keys.archived, *map(url_digest, urls))
            last = urls[-1]
        self.server.set(self.keys.archived_ready, now_iso())
        logger.info("archived URLs mirrored in Redis: %d", added)
        return added
