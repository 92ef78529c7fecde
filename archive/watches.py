"""Watches in the archive: matched where articles are stored, owed to their targets.

A watch is a saved search (the seeds' `[[watch]]`). The crawl copies the seeds' watches
into the `watches` table (`sync_watches`) before it stores anything; ArchiveWriter then
matches every new article, revision and removal against them in the very transaction
that stores it (`WatchMatcher.match`): a `matches` row per (watch, article, event,
version), and a `watch_outbox` row per notify target. A crawl killed after that commit
leaves the match owed in the outbox; one killed before leaves neither article nor match.
Delivery (newsarchive/watch/) reads the outbox after the commit, claims what it sends
(`claim`), and settles it (`settle`), so each row is sent once even with several
processes delivering.

A watch matches exactly what `newsarchive search QUERY` finds: the same expression
(archive.fts.to_match) against the same index, on the article's row.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from archive.fts import TOKENIZE, segment, to_match
from archive.runs import now_iso, process_alive
from archive.transactions import write_transaction

EVENTS = ("new", "edited", "removed")
# A claim older than this is abandoned even when its process lives on (a hung send):
# apprise's own timeouts are far shorter.
CLAIM_EXPIRES = timedelta(minutes=15)


@dataclass(frozen=True)
class Target:
    """Where a watch's messages go: `id` a hash of the notify URL, `label` the URL
    without credentials (the archive never holds the URL itself)."""

    id: str
    label: str


@dataclass(frozen=True)
class WatchRow:
    """A watch as the archive keeps it."""

    name: str
    query: str
    sources: tuple[str, ...] | None = None  # None: every source
    events: tuple[str, ...] = ("new",)
    digest: str = "every run"
    targets: tuple[Target, ...] = ()
    seeds_file: str | None = None


def sync_watches(db: sqlite_utils.Database, watches: Sequence[WatchRow]) -> None:
    """Make the `watches` table say what the seeds say: watches gone from the seeds stop
    matching (their matches and owed messages stay)."""
    with write_transaction(db):
        db.execute("delete from watches where name not in (select value from json_each(?))",
                   [json.dumps([w.name for w in watches])])
        for watch in watches:
            db.execute(
                "insert into watches (name, query, sources, events, digest, targets, "
                "seeds_file, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?) "
                "on conflict (name) do update set query = excluded.query, "
                "sources = excluded.sources, events = excluded.events, "
                "digest = excluded.digest, targets = excluded.targets, "
                "seeds_file = excluded.seeds_file, updated_at = excluded.updated_at "
                "where (query, sources, events, digest, targets) is not "
                "(excluded.query, excluded.sources, excluded.events, excluded.digest, "
                "excluded.targets)",
                [watch.name, watch.query,
                 None if watch.sources is None else json.dumps(list(watch.sources)),
                 json.dumps(list(watch.events)), watch.digest,
                 json.dumps([t.__dict__ for t in watch.targets], ensure_ascii=False),
                 watch.seeds_file, now_iso()])


def load_watches(db: sqlite_utils.Database | Any) -> list[WatchRow]:
    """The watches the archive holds (none before the watches migration)."""
    if not db.execute("select 1 from sqlite_master where name = 'watches'").fetchone():
        return []
    rows = db.execute("select name, query, sources, events, digest, targets, seeds_file "
                      "from watches order by name").fetchall()
    return [WatchRow(name=name, query=query,
                     sources=None if sources is None else tuple(json.loads(sources)),
                     events=tuple(json.loads(events)), digest=digest,
                     targets=tuple(Target(**t) for t in json.loads(targets)),
                     seeds_file=seeds_file)
            for name, query, sources, events, digest, targets, seeds_file in rows]


class WatchMatcher:
    """Matches stored articles against the archive's watches, inside the caller's
    transaction (ArchiveWriter). The watches are read once, when it is made: a crawl
    matches with the watches it started with.

    The article is matched in a private one-row FTS5 table holding its indexed form
    (the archive's index's columns and tokenizer, the expression `search` runs), not in
    the archive's index: a MATCH there restricted to one rowid still reads the whole
    doclist of every word (bench/watch_cost.py: 5 ms a watch at 300 articles, growing
    with the archive), here it reads one row.
    """

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.watches = [(w, to_match(w.query)) for w in load_watches(db)]
        self._one: sqlite3.Connection | None = None

    def match(self, article_id: int, source: str, event: str,
              segmented: tuple[str, str] | None = None) -> list[str]:
        """Record the article's `event` for every watch it matches now; the watches'
        names. An event already recorded for this version is not recorded again.
        `segmented`: the article's indexed (title, text) as it now stands, if at hand."""
        wanted = [(w, e) for w, e in self.watches if event in w.events
                  and (w.sources is None or source in w.sources)]
        if not wanted:
            return []
        title, text, version = self.db.execute(
            "select title, text, version from articles where id = ?", [article_id]).fetchone()
        one = self._row(segmented or (segment(title), segment(text)))
        found = []
        for watch, expression in wanted:
            if not one.execute("select 1 from one where one match ?", [expression]).fetchone():
                continue
            cursor = self.db.execute(
                "insert or ignore into matches (watch, article_id, event, version, matched_at) "
                "values (?, ?, ?, ?, ?)", [watch.name, article_id, event, version, now_iso()])
            if cursor.rowcount:
                self.db.conn.executemany(
                    "insert into watch_outbox (match_id, watch, target) values (?, ?, ?)",
                    [(cursor.lastrowid, watch.name, target.id) for target in watch.targets])
                found.append(watch.name)
        return found

    def _row(self, segmented: tuple[str, str]) -> sqlite3.Connection:
        """The private table, holding this one article."""
        if self._one is None:
            self._one = sqlite3.connect(":memory:")
            self._one.execute(f"create virtual table one using fts5(title, text, "
                              f"tokenize = '{TOKENIZE}')")
        with self._one:
            self._one.execute("delete from one")
            self._one.execute("insert into one (rowid, title, text) values (1, ?, ?)",
                              list(segmented))
        return self._one


# Delivery bookkeeping -------------------------------------------------------------------

def owed(db: sqlite_utils.Database, watch: str, target: str, *, now: datetime | None = None,
         ignore_backoff: bool = False) -> list[dict[str, Any]]:
    """The outbox rows this target is owed and may be sent now: pending ones whose
    backoff has passed (or all, `ignore_backoff`), and claims abandoned by a process that
    died or hung. Oldest match first, with what a message needs of each article."""
    moment = now_iso(now)
    rows = _dicts(db, """
        select o.id, o.status, o.attempts, o.next_attempt_at, o.claimed_at, o.claimed_by,
               m.id as match_id, m.event, m.version, m.matched_at, a.id as article_id,
               a.title, a.url, a.source, a.published_at, a.first_seen_at, a.text
        from watch_outbox o join matches m on m.id = o.match_id
        join articles a on a.id = m.article_id
        where o.watch = ? and o.target = ? and o.status != 'sent'
        order by m.matched_at, m.id""", [watch, target])
    return [row for row in rows if _sendable(row, moment, ignore_backoff)]


def _sendable(row: dict[str, Any], moment: str, ignore_backoff: bool) -> bool:
    if row["status"] == "sending":
        return abandoned(row, moment)
    return ignore_backoff or not row["next_attempt_at"] or row["next_attempt_at"] <= moment


def abandoned(row: dict[str, Any], moment: str) -> bool:
    """A claim whose process is gone, or that is older than CLAIM_EXPIRES."""
    claimed_at = row["claimed_at"] or ""
    expired = (datetime.fromisoformat(moment) - CLAIM_EXPIRES).isoformat(timespec="seconds")
    return claimed_at < expired or not process_alive(row["claimed_by"] or 0, claimed_at)


def claim(db: sqlite_utils.Database, rows: Iterable[dict[str, Any]]) -> list[int]:
    """Claim these outbox rows for this process; the ids it got (another process may have
    claimed or sent some since they were read)."""
    got = []
    moment = now_iso()
    with write_transaction(db):
        for row in rows:
            cursor = db.execute(
                "update watch_outbox set status = 'sending', claimed_at = ?, claimed_by = ? "
                "where id = ? and status = ? and claimed_at is ?",
                [moment, os.getpid(), row["id"], row["status"], row["claimed_at"]])
            if cursor.rowcount:
                got.append(row["id"])
    return got


def settle(db: sqlite_utils.Database, watch: str, target: Target, ids: Sequence[int],
           error: str | None, *, retry_after: timedelta | None = None) -> int:
    """Record one delivery attempt of the claimed rows `ids`: sent (error None), or back to
    pending with the error, to try again after `retry_after`. The delivery's id."""
    moment = now_iso()
    with write_transaction(db):
        delivery = db.execute(
            "insert into watch_deliveries (watch, target, label, at, status, matches, error) "
            "values (?, ?, ?, ?, ?, ?, ?)",
            [watch, target.id, target.label, moment, "failed" if error else "sent", len(ids),
             error]).lastrowid
        marks = ", ".join("?" * len(ids))
        if error is None:
            db.execute(f"update watch_outbox set status = 'sent', sent_at = ?, "
                       f"delivery_id = ?, last_error = null where id in ({marks})",
                       [moment, delivery, *ids])
        else:
            retry = now_iso(datetime.now(UTC) + (retry_after or timedelta()))
            db.execute(f"update watch_outbox set status = 'pending', claimed_at = null, "
                       f"claimed_by = null, attempts = attempts + 1, last_error = ?, "
                       f"next_attempt_at = ? where id in ({marks})", [error, retry, *ids])
    return int(delivery)


def last_digest_at(db: sqlite_utils.Database, watch: str, target: str) -> str | None:
    """When this target was last sent a message of this watch."""
    row = db.execute("select max(at) from watch_deliveries where watch = ? and target = ? "
                     "and status = 'sent'", [watch, target]).fetchone()
    return row[0] if row else None


# Reading ---------------------------------------------------------------------------------

def watch_summaries(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Per watch in the archive: matches, owed messages, last delivery, failures."""
    return _dicts(db, """
        select w.name, w.query, w.events, w.digest, w.targets,
          (select count(*) from matches m where m.watch = w.name) as matches,
          (select max(matched_at) from matches m where m.watch = w.name) as last_match,
          (select count(*) from watch_outbox o where o.watch = w.name
             and o.status != 'sent') as owed,
          (select max(at) from watch_deliveries d where d.watch = w.name
             and d.status = 'sent') as last_sent,
          (select count(*) from watch_deliveries d where d.watch = w.name
             and d.status = 'failed') as failures,
          (select error from watch_deliveries d where d.watch = w.name
             and d.status = 'failed' order by d.id desc limit 1) as last_error
        from watches w order by w.name""", [])


def watch_matches(db: sqlite_utils.Database, watch: str, *, since: str | None = None,
                  limit: int | None = None) -> list[dict[str, Any]]:
    """A watch's matches, newest first, with their articles and delivery state."""
    sql = """
        select m.id, m.watch, m.event, m.version, m.matched_at, m.article_id, a.title,
               a.url, a.source, a.published_at, a.first_seen_at, a.status as article_status,
               (select count(*) from watch_outbox o where o.match_id = m.id
                  and o.status = 'sent') as sent,
               (select count(*) from watch_outbox o where o.match_id = m.id
                  and o.status != 'sent') as owed
        from matches m join articles a on a.id = m.article_id
        where m.watch = ? and m.matched_at >= ?
        order by m.matched_at desc, m.id desc"""
    rows = _dicts(db, sql + (f" limit {int(limit)}" if limit else ""), [watch, since or ""])
    return rows


def _dicts(db: sqlite_utils.Database | Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
