"""Writes to the archive. Each stored page is one transaction: page, article and URLs together,
so a crawl killed at any moment leaves either all of an item or none of it.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import sqlite_utils

from pipelines.types import Article

Outcome = Literal["new", "duplicate", "not-article"]


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


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def content_hash(text: str) -> str:
    """A hash of the body with whitespace normalised: the same text gives the same hash."""
    normalised = re.sub(r"\s+", " ", text).strip()
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def compress(body: bytes) -> bytes:
    return zlib.compress(body, 6)


def decompress(blob: bytes) -> bytes:
    return zlib.decompress(blob)


class ArchiveWriter:
    """The crawl's view of the archive: runs, pages, articles, failures."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def start_run(self, source: str, pid: int | None = None) -> int:
        with self.db.atomic():
            table = self.db["crawl_runs"].insert(
                {"source": source, "started_at": now_iso(), "status": "running", "pid": pid}
            )
        return int(table.last_pk)

    def finish_run(self, run_id: int, status: str, finish_reason: str) -> dict[str, int]:
        """Close the run with its counts, computed from what the archive recorded for it."""
        counts = self.run_counts(run_id)
        with self.db.atomic():
            self.db["crawl_runs"].update(
                run_id,
                {"finished_at": now_iso(), "status": status, "finish_reason": finish_reason,
                 **counts},
            )
        return counts

    def run_counts(self, run_id: int) -> dict[str, int]:
        row = self.db.execute(
            """select
                 (select count(*) from pages where run_id = :run) as pages_fetched,
                 (select count(*) from failures where run_id = :run) as failures""",
            {"run": run_id},
        ).fetchone()
        run = self.db["crawl_runs"].get(run_id)
        return {"pages_fetched": row[0], "failures": row[1],
                "articles_new": run["articles_new"], "duplicates": run["duplicates"]}

    def record_failure(self, run_id: int | None, url: str, reason: str,
                       status: int | None = None) -> None:
        with self.db.atomic():
            self.db["failures"].insert(
                {"run_id": run_id, "url": url, "reason": reason, "status": status, "at": now_iso()}
            )

    def is_archived(self, url: str) -> bool:
        """Whether this URL already leads to an archived article (an indexed lookup)."""
        return bool(self.db.execute(
            "select 1 from article_urls where url = ? limit 1", [url]).fetchone())

    def store(self, run_id: int | None, source: str, page: FetchedPage,
              article: Article | None) -> Outcome:
        """Store the page and, if it holds an article, the article: one transaction."""
        with self.db.atomic():
            page_id = self._insert_page(run_id, page)
            if article is None:
                return "not-article"
            article_id, outcome = self._upsert_article(source, page, article)
            for url in {page.url, page.final_url, article["url"], article["canonical_url"]}:
                self.db["article_urls"].insert(
                    {"url": url, "article_id": article_id, "first_seen_at": page.fetched_at},
                    ignore=True,
                )
            self.db["pages"].update(page_id, {"article_id": article_id})
            if run_id is not None:
                column = "articles_new" if outcome == "new" else "duplicates"
                self.db.execute(
                    f"update crawl_runs set {column} = {column} + 1 where id = ?", [run_id])
        return outcome

    def _insert_page(self, run_id: int | None, page: FetchedPage) -> int:
        table = self.db["pages"].insert({
            "url": page.url, "final_url": page.final_url, "status": page.status,
            "headers": json.dumps(page.headers, ensure_ascii=False),
            "content_type": page.content_type, "fetched_at": page.fetched_at,
            "body": compress(page.body), "body_size": len(page.body), "run_id": run_id,
        })
        return int(table.last_pk)

    def _upsert_article(self, source: str, page: FetchedPage,
                        article: Article) -> tuple[int, Outcome]:
        digest = content_hash(article["text"])
        existing = self.db.execute(
            "select id from articles where canonical_url = ? or content_hash = ? "
            "order by id limit 1",
            [article["canonical_url"], digest],
        ).fetchone()
        if existing:
            return int(existing[0]), "duplicate"
        row = {
            **article,
            "images": json.dumps(article["images"], ensure_ascii=False),
            "source": source,
            "fetched_at": page.fetched_at,
            "first_seen_at": page.fetched_at,
            "content_hash": digest,
        }
        table = self.db["articles"].insert(row)
        return int(table.last_pk), "new"
