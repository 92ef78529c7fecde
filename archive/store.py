"""Writes to the archive. Each stored page is one transaction: page, article, URLs,
fingerprint and revision together, so a crawl killed at any moment leaves either all of an
item or none of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlite_utils

from archive.fts import Presegmented, index_article
from archive.health import page_extraction
from archive.neardup import NearDuplicateIndex
from archive.pagecodec import compress_page, site_of, with_site_dictionary
from archive.pagedicts import DictionaryTrainer
from archive.revisions import record_revision
from archive.runs import RunRecords, now_iso
from archive.transactions import write_transaction
from archive.watches import WatchMatcher
from pipelines.dedup import Fingerprint
from pipelines.types import Article

logger = logging.getLogger(__name__)

Outcome = Literal["new", "near-duplicate", "duplicate", "revised", "unchanged", "not-article"]
# Outcomes that leave the article row as it was, and so its search index entry.
ROW_UNCHANGED = ("duplicate", "unchanged")
# Which crawl_runs counter each outcome adds to.
# The watch event (archive/watches.py) each outcome is.
WATCH_EVENT = {"new": "new", "near-duplicate": "new", "revised": "edited"}
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


def content_hash(text: str) -> str:
    """A hash of the body with whitespace normalised: the same text gives the same hash."""
    normalised = re.sub(r"\s+", " ", text).strip()
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


class ArchiveWriter(RunRecords):
    """The crawl's view of the archive: runs, pages, articles, failures, revisits.

    `revisit_after`: delays after first seen at which an article is fetched again (the
    source's `revisit` seeds key); empty, no revisits are scheduled.
    """

    def __init__(self, db: sqlite_utils.Database,
                 revisit_after: tuple[timedelta, ...] = (),
                 train_in_background: bool = False) -> None:
        self.db = db
        self.revisit_after = revisit_after
        self.dictionaries = DictionaryTrainer(db, background=train_in_background)
        self.near = NearDuplicateIndex(db)
        self.watches = WatchMatcher(db)

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
        everything it links is settled (crawler/itempipelines.py), as a 304 next run would hide
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
            self.dictionaries.page_stored(page.url, len(stored[0]), len(page.body), stored[1])
        except sqlite3.Error as exc:  # the page is stored; its site trains another time
            logger.warning("page dictionary for %s not trained: %s", site_of(page.url), exc)
        if fingerprint is not None and outcome in ("new", "near-duplicate", "revised"):
            self._fold_if_due()
        return outcome

    def finish(self) -> None:
        """Store what the background made (a page dictionary still training): at a run's
        end. Skipped or failed, the site's dictionary is trained by a later run."""
        try:
            self.dictionaries.finish()
        except sqlite3.Error as exc:
            logger.warning("page dictionary not stored: %s", exc)

    def _fold_if_due(self) -> None:
        """One more article's band keys are pending: fold them into lsh_bands when there
        are enough (archive/neardup.py)."""
        if not self.near.fold_due():
            return
        try:
            self.near.fold()
        except sqlite3.Error as exc:  # pending keys are looked up too: nothing is missed
            logger.warning("near-duplicate index not folded: %s", exc)

    def _store(self, run_id: int | None, source: str, page: FetchedPage,
               article: Article | None, fingerprint: Fingerprint | None, revisit: bool,
               segmented: tuple[str, str] | None, body_blob: bytes | None,
               body_codec: str | None, profile: str | None,
               previous_segmented: Presegmented | None,
               ) -> tuple[Outcome, tuple[bytes, str]]:
        """store() itself: (outcome, the page's (body, codec) as stored)."""
        extraction = page_extraction(page.final_url, profile, article)
        with self.near.writing():
            if article is None:
                stored = self._insert_page(run_id, page, body_blob, body_codec, extraction)
                return "not-article", stored
            article_id, outcome, previous = self._place_article(source, page, article,
                                                                fingerprint, revisit)
            # The page row after the article's, with its article_id: an update would
            # rewrite the whole row, its ~13 KB body too (the store's costliest statement).
            stored = self._insert_page(run_id, page, body_blob, body_codec, extraction,
                                       article_id)
            if outcome not in ROW_UNCHANGED:  # search index in step, same transaction
                index_article(self.db, article_id, segmented, previous, previous_segmented)
            if outcome in WATCH_EVENT:  # matched in the same transaction: never lost
                self.watches.match(article_id, source, WATCH_EVENT[outcome], segmented)
            urls = {page.url, page.final_url, article["url"], article["canonical_url"]}
            self.db.conn.executemany(
                "insert or ignore into article_urls (url, article_id, first_seen_at) "
                "values (?, ?, ?)", [(url, article_id, page.fetched_at) for url in urls])
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
                "select u.article_id, a.source, a.status from article_urls u "
                "join articles a on a.id = u.article_id where u.url = ?", [url]).fetchone()
            if row is None:
                return False
            self.db["articles"].update(row[0], {
                "status": "removed", "removed_at": now_iso(), "next_check_at": None,
                "last_checked_at": now_iso()})
            if row[2] != "removed":
                self.watches.match(row[0], row[1], "removed")
            self.count(run_id, "removed")
            self.db["failures"].insert({"run_id": run_id, "url": url,
                                        "reason": f"removed: {reason}", "at": now_iso()})
        return True

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
                self.near.index(stored["id"], fingerprint)
            self._schedule_next_check(stored, page.fetched_at)
            return (stored["id"], "revised" if changes else "unchanged",
                    (stored["title"], stored["text"]))
        same_text = self._row("select id from articles where content_hash = ? order by id",
                              digest)
        if same_text is not None:
            return same_text["id"], "duplicate", None
        near = self.near.find(fingerprint) if fingerprint else None
        article_id = self._insert_article(source, page, article, digest, near)
        if fingerprint is not None:
            self.near.index(article_id, fingerprint)
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
                     extraction: dict[str, Any] | None = None, article_id: int | None = None,
                     ) -> tuple[bytes, str]:
        """Insert the page's row; the (body, codec) it holds."""
        if body_blob is None or body_codec is None:
            body_blob, body_codec = compress_page(self.db, site_of(page.url), page.body)
        else:
            body_blob, body_codec = with_site_dictionary(self.db, site_of(page.url),
                                                         body_blob, body_codec)
        self._insert("pages", {
            "url": page.url, "final_url": page.final_url, "status": page.status,
            "headers": json.dumps(page.headers, ensure_ascii=False),
            "content_type": page.content_type, "fetched_at": page.fetched_at,
            "body": body_blob, "codec": body_codec,
            "body_size": len(page.body), "run_id": run_id, "article_id": article_id,
            **(extraction or {}),
        })
        return body_blob, body_codec
