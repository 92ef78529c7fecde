"""Export articles as JSON Lines or CSV, streaming: one row in memory at a time.

The shape is fixed and documented in docs/browse-and-search.md: the same fields, in the same
order, whatever the archive's schema version (a column an older archive lacks exports as
null), so downstream jobs can rely on it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import IO, Any

import sqlite_utils

FIELDS = (
    "id", "canonical_url", "url", "title", "author", "publisher", "published_at",
    "published_date_only", "source", "site", "lang", "profile", "template", "fetched_at",
    "first_seen_at",
    "content_hash", "duplicate_of", "status", "version", "images", "text",
)
FORMATS = ("jsonl", "csv")


def iter_articles(db: sqlite_utils.Database, *, since: str | None = None,
                  source: str | None = None) -> Iterator[dict[str, Any]]:
    """Articles in id order as export rows (images parsed), read lazily from a cursor."""
    present = {column.name for column in db["articles"].columns}
    select = ", ".join(f"[{f}]" if f in present else f"null as [{f}]" for f in FIELDS)
    where, params = [], []
    if since:
        # As written: published_at carries its own offset (+08:00 for NetEase), so
        # '2025-11-14' means from the 14th, local time. Undated articles count by first sight.
        where.append("coalesce(published_at, first_seen_at) >= ?")
        params.append(since)
    if source:
        where.append("source = ?")
        params.append(source)
    sql = f"select {select} from articles"
    if where:
        sql += " where " + " and ".join(where)
    sql += " order by id"
    # A plain cursor, not fetchall(): SQLite hands rows over one at a time.
    cursor = db.execute(sql, params)
    for values in cursor:
        row = dict(zip(FIELDS, values, strict=True))
        row["images"] = json.loads(row["images"]) if row["images"] else []
        yield row


def write_jsonl(rows: Iterator[dict[str, Any]], out: IO[str]) -> int:
    """One JSON object a line, UTF-8 as is (no \\u escapes); return the count."""
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(rows: Iterator[dict[str, Any]], out: IO[str]) -> int:
    """RFC 4180 CSV with a header row; null is an empty cell, images a JSON string."""
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    count = 0
    for row in rows:
        row["images"] = json.dumps(row["images"], ensure_ascii=False)
        writer.writerow(["" if row[f] is None else row[f] for f in FIELDS])
        count += 1
    return count


def export(db: sqlite_utils.Database, out: IO[str], fmt: str, *, since: str | None = None,
           source: str | None = None) -> int:
    """Write the selected articles to `out` in `fmt` (jsonl or csv); return how many."""
    writer = {"jsonl": write_jsonl, "csv": write_csv}[fmt]
    return writer(iter_articles(db, since=since, source=source), out)
