"""Writes to the archive. Each stored page is one transaction: page, article, URLs,
fingerprint and revision together, so a crawl killed at any moment leaves either all of an
item or none of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sqlite3
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import sqlite_utils

from archive import pagecodec
from archive.fts import Presegmented, index_article
from archive.health import page_extraction
from archive.neardup import find_near_duplicate, index_fingerprint
from archive.pagecodec import (
    codec_dict_id,
    compress_page,
    site_of,
    site_page_ids,
    train_site_dictionary,
    with_site_dictionary,
)
from archive.revisions import record_revision
from archive.transactions import write_transaction
from pipelines.dedup import Fingerprint
from pipelines.types import Article

logger = logging.getLogger(__name__)

Outcome = Literal["new", "near-duplicate", "duplicate", "revised", "unchanged", "not-article"]
# Outcomes that leave the article row as it was, and so its search index entry.
ROW_UNCHANGED = ("duplicate", "unchanged")
# Which crawl_runs counter each outcome adds to.
RUN_COUNTER = {"new": "articles_new", "near-duplicate": "duplicates", "duplicate": "duplicates",
               "revised": "revised"}


@dataclass
class FetchedPage:
    """One HTTP response as the crawler saw it."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: str

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type") or self.headers.get("content-type")


def now_iso(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


def content_hash(text: str) -> str:
    """A hash of the body with whitespace normalised: the same text gives the same hash."""
    normalised = re.sub(r"\s+", " ", text).strip()
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def process_alive(pid: int, started_at: str | None = None) -> bool:
    """Whether process `pid` is still the running process that started a run at
    `started_at`. On Linux a zombie counts as dead, and so does a process that started
    after the run did (the pid was reused). Only meaningful on the machine of the run."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, IndexError, StopIteration, ValueError):
        return True  # no /proc to ask: it exists
    if fields[0] in ("Z", "X"):
        return False
    if started_at:
        started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
        with suppress(ValueError):
            if started > datetime.fromisoformat(started_at).timestamp() + 2:
                return False
    return True


class ArchiveWriter:
    """The crawl's view of the archive: runs, pages, articles, failures, revisits.

    `revisit_after`: delays after first seen at which an article is fetched again (the
    source's `revisit` seeds key); empty, no revisits are scheduled.
    """

    def __init__(self, db: sqlite_utils.Database,
                 revisit_after: tuple[timedelta, ...] = ()) -> None:
        self.db = db
        self.revisit_after = revisit_after
        # Sites without a page dictionary: pages counted so far and the count at which
        # to train one (pagecodec.TRAIN_AFTER, more after a failure).
        self._training: dict[str, tuple[int, int]] = {}
        # Sites with one: [its id, pages stored with it, mean size ratio of its first
        # pages, moving average of the latest], to train another when they drift.
        self._drift: dict[str, list[Any]] = {}

    # Runs and failures -------------------------------------------------------------

    def start_run(self, source: str, pid: int | None = None) -> int:
        self.close_dead_runs()
        with write_transaction(self.db):
            table = self.db["crawl_runs"].insert(
                {"source": source, "started_at": now_iso(), "status": "running", "pid": pid})
        return int(table.last_pk)

    def close_dead_runs(self) -> list[int]:
        """Close, as failed, the `running` runs whose process is gone; their ids.

        A crawl killed with SIGKILL (the OOM killer, `kill -9`, a power cut) cannot close
        its own row, which would stay `running` for ever. Each new run looks for such
        rows; what they stored stays (every page was its own transaction)."""
        rows = self.db.execute("select id, pid, started_at from crawl_runs "
                               "where status = 'running' and pid is not null").fetchall()
        closed = []
        for run_id, pid, started_at in rows:
            if process_alive(pid, started_at):
                continue
            counts = self.run_counts(run_id)
            with write_transaction(self.db):
                # `and status = 'running'`: the scheduler may have closed it meanwhile.
                cursor = self.db.execute(
                    "update crawl_runs set status = 'failed', finished_at = ?, "
                    "finish_reason = ?, pages_fetched = ?, failures = ? "
                    "where id = ? and status = 'running'",
                    [now_iso(), f"killed: process {pid} ended without closing its run",
                     counts["pages_fetched"], counts["failures"], run_id])
            if cursor.rowcount:
                closed.append(run_id)
        return closed

    def finish_run(self, run_id: int, status: str, finish_reason: str) -> dict[str, int]:
        """Close the run with its counts."""
        counts = self.run_counts(run_id)
        with write_transaction(self.db):
            self.db["crawl_runs"].update(run_id, {
                "finished_at": now_iso(), "status": status, "finish_reason": finish_reason,
                "pages_fetched": counts["pages_fetched"], "failures": counts["failures"]})
        return counts

    def run_counts(self, run_id: int) -> dict[str, int]:
        row = self.db.execute(
            """select (select count(*) from pages where run_id = :run),
                      (select count(*) from failures where run_id = :run)""",
            {"run": run_id}).fetchone()
        run = self.db["crawl_runs"].get(run_id)
        return {"pages_fetched": row[0], "failures": row[1],
                **{key: run[key] for key in ("articles_new", "duplicates", "revised", "removed",
                                             "listings_read", "not_modified")}}

    def count(self, run_id: int | None, counter: str) -> None:
        if run_id is not None:
            self.db.execute(f"update crawl_runs set {counter} = {counter} + 1 where id = ?",
                            [run_id])

    def record_failure(self, run_id: int | None, url: str, reason: str,
                       status: int | None = None) -> None:
        with write_transaction(self.db):
            self.db["failures"].insert(
                {"run_id": run_id, "url": url, "reason": reason, "status": status,
                 "at": now_iso()})

    # Lookups -----------------------------------------------------------------------

    def is_archived(self, url: str) -> bool:
        """Whether this URL already leads to an archived article (an indexed lookup)."""
        return bool(self.db.execute(
            "select 1 from article_urls where url = ? limit 1", [url]).fetchone())

    def due_revisits(self, source: str, now: datetime | None = None) -> list[str]:
        """URLs of this source's live articles whose next revisit is due."""
        return [row[0] for row in self.db.execute(
            "select url from articles where source = ? and status = 'live' "
            "and next_check_at <= ? order by next_check_at", [source, now_iso(now)])]

    def listing_validators(self, url: str) -> dict[str, str]:
        """Conditional-request headers for a listing fetched before."""
        row = self.db.execute(
            "select etag, last_modified from listing_state where url = ?", [url]).fetchone()
        headers = {}
        if row and row[0]:
            headers["If-None-Match"] = row[0]
        if row and row[1]:
            headers["If-Modified-Since"] = row[1]
        return headers

    def save_listing_state(self, run_id: int | None, url: str, status: int,
                           etag: str | None, last_modified: str | None) -> None:
        with write_transaction(self.db):
            self.count(run_id, "listings_read")
            if status == 304:
                self.count(run_id, "not_modified")
                self.db.execute("update listing_state set checked_at = ?, status = 304 "
                                "where url = ?", [now_iso(), url])
                return
            self.db["listing_state"].upsert(
                {"url": url, "etag": etag, "last_modified": last_modified,
                 "checked_at": now_iso(), "status": status}, pk="url")

    def keep_listing_validators(self, url: str, etag: str | None,
                                last_modified: str | None) -> None:
        """Keep a listing's validators, for a conditional request next run: only once
        everything it links is settled (pipelines/crawl.py), as a 304 next run would hide
        what is not."""
        with write_transaction(self.db):
            self.db.execute("update listing_state set etag = ?, last_modified = ? "
                            "where url = ?", [etag, last_modified, url])

    def listing_unsettled(self, url: str) -> bool:
        """Whether this listing was read before without all it links being settled (or
        its server sends no validators): worth reading again even when the page before
        it had nothing new."""
        row = self.db.execute("select etag, last_modified from listing_state where url = ?",
                              [url]).fetchone()
        return row is not None and not row[0] and not row[1]

    # Articles ----------------------------------------------------------------------

    def store(self, run_id: int | None, source: str, page: FetchedPage,
              article: Article | None, *, fingerprint: Fingerprint | None = None,
              revisit: bool = False, segmented: tuple[str, str] | None = None,
              body_blob: bytes | None = None, body_codec: str | None = None,
              profile: str | None = None,
              previous_segmented: Presegmented | None = None) -> Outcome:
        """Store the page and what it holds, in one transaction; say what it was.

        What the crawl computes in its extraction workers, so that the reactor thread
        does not: `fingerprint` (near-duplicate detection), `segmented` (the article's
        title and text as archive.fts.segment gives them, for the search index) and
        `body_blob` with its `body_codec` (archive.pagecodec.compress_page of the page).
        Each is computed here when not given.
        `profile`: the seeds' profile the page was extracted with (None: the host's).
        `previous_segmented`: for a revisit, the article's stored title and text with
        their segmented form (archive.fts.index_article's `presegmented`), so that a
        revision does not segment here (jieba's dictionary is ~70 MB).
        """
        outcome, stored = self._store(run_id, source, page, article, fingerprint, revisit,
                                      segmented, body_blob, body_codec, profile,
                                      previous_segmented)
        try:
            self._train_if_due(page.url, len(stored[0]), len(page.body), stored[1])
        except sqlite3.Error as exc:  # the page is stored; its site trains another time
            logger.warning("page dictionary for %s not trained: %s", site_of(page.url), exc)
        return outcome

    def _store(self, run_id: int | None, source: str, page: FetchedPage,
               article: Article | None, fingerprint: Fingerprint | None, revisit: bool,
               segmented: tuple[str, str] | None, body_blob: bytes | None,
               body_codec: str | None, profile: str | None,
               previous_segmented: Presegmented | None,
               ) -> tuple[Outcome, tuple[bytes, str]]:
        """store() itself: (outcome, the page's (body, codec) as stored)."""
        with write_transaction(self.db):
            page_id, stored = self._insert_page(
                run_id, page, body_blob, body_codec,
                extraction=page_extraction(page.final_url, profile, article))
            if article is None:
                return "not-article", stored
            article_id, outcome, previous = self._place_article(source, page, article,
                                                                fingerprint, revisit)
            if outcome not in ROW_UNCHANGED:  # search index in step, same transaction
                index_article(self.db, article_id, segmented, previous, previous_segmented)
            urls = {page.url, page.final_url, article["url"], article["canonical_url"]}
            self.db.conn.executemany(
                "insert or ignore into article_urls (url, article_id, first_seen_at) "
                "values (?, ?, ?)", [(url, article_id, page.fetched_at) for url in urls])
            self.db.execute("update pages set article_id = ? where id = ?",
                            [article_id, page_id])
            if outcome in RUN_COUNTER:
                self.count(run_id, RUN_COUNTER[outcome])
        return outcome, stored

    def link_url(self, url: str, canonical_url: str) -> bool:
        """Record `url` as another address of the article at `canonical_url`."""
        with write_transaction(self.db):
            row = self.db.execute("select article_id from article_urls where url = ?",
                                  [canonical_url]).fetchone()
            if row is None:
                return False
            self.db["article_urls"].insert(
                {"url": url, "article_id": row[0], "first_seen_at": now_iso()}, ignore=True)
        return True

    def mark_removed(self, run_id: int | None, url: str, reason: str) -> bool:
        """Mark the article at `url` removed (never deleted); False if none is archived."""
        with write_transaction(self.db):
            row = self.db.execute(
                "select article_id from article_urls where url = ?", [url]).fetchone()
            if row is None:
                return False
            self.db["articles"].update(row[0], {
                "status": "removed", "removed_at": now_iso(), "next_check_at": None,
                "last_checked_at": now_iso()})
            self.count(run_id, "removed")
            self.db["failures"].insert({"run_id": run_id, "url": url,
                                        "reason": f"removed: {reason}", "at": now_iso()})
        return True

    def _train_if_due(self, url: str, stored: int, raw: int, codec: str) -> None:
        """Train the site's page dictionary once it has enough pages, and a new one when
        its pages have drifted away from it (archive/pagecodec.py).

        A site's pages are counted once from the index, then one by one as they are
        stored here: a store costs the same whatever the number of pages the site has."""
        site = site_of(url)
        if not site:
            return
        dict_id = codec_dict_id(codec)
        if dict_id is not None:
            self._watch_drift(site, dict_id, stored / max(raw, 1))
            return
        state = self._training.get(site)
        if state is None:
            count, due = len(site_page_ids(self.db, site)), pagecodec.TRAIN_AFTER
        else:
            count, due = state[0] + 1, state[1]
        if count < due:
            self._training[site] = (count, due)
        elif train_site_dictionary(self.db, site) is None:
            self._training[site] = (count, 2 * count)  # too little to train on: later
        else:
            self._training.pop(site, None)

    def _watch_drift(self, site: str, dict_id: int, ratio: float) -> None:
        """Follow how well the site's dictionary compresses the pages stored with it:
        the mean ratio of its first pages, then a moving average of the latest."""
        watch = self._drift.get(site)
        if watch is None or watch[0] != dict_id:
            watch = self._drift[site] = [dict_id, 0, 0.0, 0.0]
        watch[1] += 1
        pages = watch[1]
        if pages <= pagecodec.BASELINE:
            watch[2] += (ratio - watch[2]) / pages
            watch[3] = watch[2]
            return
        watch[3] += (ratio - watch[3]) / 50
        if pages >= pagecodec.RETRAIN_AFTER and watch[3] > pagecodec.RETRAIN_WORSE * watch[2]:
            watch[1] = -10 * pagecodec.RETRAIN_AFTER  # failed or not, not again soon
            train_site_dictionary(self.db, site, replacing=dict_id)

    def _place_article(self, source: str, page: FetchedPage, article: Article,
                       fingerprint: Fingerprint | None, revisit: bool,
                       ) -> tuple[int, Outcome, tuple[str, str] | None]:
        """(article id, outcome, the (title, text) its search index entry was made of
        when a revision changes it)."""
        digest = content_hash(article["text"])
        stored = self._row("select * from articles where canonical_url = ?",
                           article["canonical_url"])
        if stored is not None:
            if not revisit:
                return stored["id"], "duplicate", None
            changes = record_revision(self.db, stored, article, digest, page.fetched_at)
            if changes and fingerprint is not None:
                index_fingerprint(self.db, stored["id"], fingerprint)
            self._schedule_next_check(stored, page.fetched_at)
            return (stored["id"], "revised" if changes else "unchanged",
                    (stored["title"], stored["text"]))
        same_text = self._row("select id from articles where content_hash = ? order by id",
                              digest)
        if same_text is not None:
            return same_text["id"], "duplicate", None
        near = find_near_duplicate(self.db, fingerprint) if fingerprint else None
        article_id = self._insert_article(source, page, article, digest, near)
        if fingerprint is not None:
            index_fingerprint(self.db, article_id, fingerprint)
        return article_id, "near-duplicate" if near else "new", None

    def _insert_article(self, source: str, page: FetchedPage, article: Article, digest: str,
                        near: tuple[int, float] | None) -> int:
        first_check = self._check_time(page.fetched_at, 0)
        return self._insert("articles", {
            **article,
            "images": json.dumps(article["images"], ensure_ascii=False),
            "source": source, "fetched_at": page.fetched_at, "first_seen_at": page.fetched_at,
            "content_hash": digest, "duplicate_of": near[0] if near else None,
            "duplicate_similarity": round(near[1], 3) if near else None, "status": "live",
            "last_checked_at": page.fetched_at, "next_check_at": first_check,
            "revisits": 0, "version": 1,
        })

    def _insert(self, table: str, row: dict[str, Any]) -> int:
        """Insert one row; its id. Plain SQL: sqlite-utils' insert() reads the table's
        schema on every call, which the crawl's hot path does not need."""
        columns = ", ".join(f"[{name}]" for name in row)
        marks = ", ".join("?" * len(row))
        cursor = self.db.execute(f"insert into [{table}] ({columns}) values ({marks})",
                                 list(row.values()))
        return int(cursor.lastrowid)

    def _schedule_next_check(self, stored: dict[str, Any], checked_at: str) -> None:
        revisits = stored["revisits"] + 1
        self.db["articles"].update(stored["id"], {
            "revisits": revisits, "last_checked_at": checked_at,
            "next_check_at": self._check_time(stored["first_seen_at"], revisits)})

    def _check_time(self, first_seen_at: str, done: int) -> str | None:
        """When the next revisit is due after `done` revisits; None when the schedule ends."""
        if done >= len(self.revisit_after):
            return None
        return now_iso(datetime.fromisoformat(first_seen_at) + self.revisit_after[done])

    def _row(self, sql: str, *params: Any) -> dict[str, Any] | None:
        cursor = self.db.execute(sql, list(params))
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cursor.description], row, strict=True))

    def _insert_page(self, run_id: int | None, page: FetchedPage,
                     body_blob: bytes | None = None, body_codec: str | None = None,
                     extraction: dict[str, Any] | None = None) -> tuple[int, tuple[bytes, str]]:
        """The new row's id, and the (body, codec) it holds."""
        if body_blob is None or body_codec is None:
            body_blob, body_codec = compress_page(self.db, site_of(page.url), page.body)
        else:
            body_blob, body_codec = with_site_dictionary(self.db, site_of(page.url),
                                                         body_blob, body_codec)
        return self._insert("pages", {
            "url": page.url, "final_url": page.final_url, "status": page.status,
            "headers": json.dumps(page.headers, ensure_ascii=False),
            "content_type": page.content_type, "fetched_at": page.fetched_at,
            "body": body_blob, "codec": body_codec,
            "body_size": len(page.body), "run_id": run_id,
            **(extraction or {}),
        }), (body_blob, body_codec)
