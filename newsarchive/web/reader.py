"""The article reader: what the row page of `articles` shows, read from one archive.

Everything here returns plain data (strings, lists, dicts); the template escapes it all
(Jinja autoescape), so stored text can hold any markup and none of it runs.
"""

from __future__ import annotations

import difflib
import json
import sqlite3
from datetime import datetime, timedelta, timezone
from typing import Any

BEIJING = timezone(timedelta(hours=8))
# Links and images only for these schemes: a stored `javascript:` URL must not become a link.
WEB_SCHEMES = ("http://", "https://")
# Paragraphs at least this alike (difflib ratio) are one paragraph edited, not two.
EDITED = 0.6


def rows(conn: sqlite3.Connection, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    """Rows as dicts, whatever the connection's row_factory."""
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def table_exists(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("select 1 from sqlite_master where type = 'table' and name = ?",
                        [name]).fetchone() is not None


def web_url(url: str | None) -> str | None:
    """The URL if it is http(s), else None (shown as text, never linked)."""
    return url if url and url.lower().startswith(WEB_SCHEMES) else None


def beijing_time(value: str | None) -> str | None:
    """An ISO 8601 time shown in Beijing time with its offset: '2025-11-14 07:16 +08:00'.

    A day alone, or a time without an offset, is shown as written (we cannot know its
    zone)."""
    if not value:
        return None
    if len(value) == 10:
        return value  # a day without a time (published_date_only): no zone to convert
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return value
    if when.tzinfo is None:
        return when.strftime("%Y-%m-%d %H:%M")
    return when.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M +08:00")


def paragraphs(text: str | None) -> list[str]:
    """The body's paragraphs: one a line as stored, blank lines dropped."""
    return [line for line in (text or "").split("\n") if line.strip()]


def images(value: str | None) -> list[dict[str, str]]:
    """The article's images as {url, caption}, only those with an http(s) URL."""
    try:
        items = json.loads(value or "[]")
    except ValueError:
        return []
    found = []
    for item in items if isinstance(items, list) else []:
        url = web_url(item.get("url")) if isinstance(item, dict) else None
        if url:
            found.append({"url": url, "caption": str(item.get("caption") or "")})
    return found


def inline_diff(old: str, new: str) -> tuple[list[tuple[bool, str]], list[tuple[bool, str]]]:
    """Two texts as (changed, piece) runs, character by character (Chinese has no spaces
    to diff words by)."""
    before: list[tuple[bool, str]] = []
    after: list[tuple[bool, str]] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if i2 > i1:
            before.append((op != "equal", old[i1:i2]))
        if j2 > j1:
            after.append((op != "equal", new[j1:j2]))
    return before, after


def text_diff(old: str | None, new: str | None) -> list[dict[str, Any]]:
    """The body's changes paragraph by paragraph: unchanged runs as a count, an edited
    paragraph as a character diff, others as removed and added paragraphs."""
    old_paras, new_paras = paragraphs(old), paragraphs(new)
    blocks: list[dict[str, Any]] = []
    matcher = difflib.SequenceMatcher(None, old_paras, new_paras, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            blocks.append({"kind": "same", "count": i2 - i1})
            continue
        removed, added = old_paras[i1:i2], new_paras[j1:j2]
        # Pair replaced paragraphs in order while they stay alike: an edited paragraph.
        while removed and added and difflib.SequenceMatcher(
                None, removed[0], added[0], autojunk=False).ratio() >= EDITED:
            before, after = inline_diff(removed.pop(0), added.pop(0))
            blocks.append({"kind": "changed", "before": before, "after": after})
        blocks.extend({"kind": "removed", "text": p} for p in removed)
        blocks.extend({"kind": "added", "text": p} for p in added)
    return blocks


def versions(conn: sqlite3.Connection, article: dict[str, Any]) -> list[dict[str, Any]]:
    """The article's earlier versions, newest first, each with what changed in the version
    that replaced it (the next one, or the current article)."""
    if not table_exists(conn, "article_versions"):
        return []
    found = rows(conn, "select * from article_versions where article_id = ? order by version",
                 [article["id"]])
    shown = []
    for index, version in enumerate(found):
        after = found[index + 1] if index + 1 < len(found) else article
        try:
            changed = json.loads(version.get("changed_fields") or "[]")
        except ValueError:
            changed = []
        fields = []
        for name in changed:
            if name == "text":
                fields.append({"name": name, "text": text_diff(version["text"], after["text"])})
            else:
                before, now = inline_diff(str(version.get(name) or ""), str(after.get(name) or ""))
                fields.append({"name": name, "before": before, "after": now})
        shown.append({"version": version["version"], "next": after["version"],
                      "replaced_at": beijing_time(version["replaced_at"]),
                      "title": version["title"], "fields": fields})
    return list(reversed(shown))


def article_page(conn: sqlite3.Connection, article_id: int) -> dict[str, Any] | None:
    """All the reader shows of one article; None when there is no such article."""
    found = rows(conn, "select * from articles where id = ?", [article_id])
    if not found:
        return None
    article = found[0]
    original = None
    if article["duplicate_of"] is not None:
        original = next(iter(rows(conn, "select id, title, source, published_at from articles "
                                        "where id = ?", [article["duplicate_of"]])), None)
    return {
        "id": article["id"],
        "title": article["title"] or "(untitled)",
        "author": article["author"],
        "publisher": article["publisher"],
        "source": article["source"],
        "site": article["site"],
        "published": beijing_time(article["published_at"]),
        "first_seen": beijing_time(article["first_seen_at"]),
        "status": article["status"],
        "removed": beijing_time(article["removed_at"]),
        "url": article["url"],
        "link": web_url(article["url"]),
        "paragraphs": paragraphs(article["text"]),
        "images": images(article["images"]),
        "version": article["version"],
        "versions": versions(conn, article),
        "original": original,
        "similarity": article["duplicate_similarity"],
        "copies": rows(conn, "select id, title, source, published_at, duplicate_similarity "
                             "as similarity from articles where duplicate_of = ? order by id",
                       [article_id]),
        "urls": [{**row, "link": web_url(row["url"]), "seen": beijing_time(row["first_seen_at"])}
                 for row in rows(conn, "select url, first_seen_at from article_urls "
                                       "where article_id = ? order by first_seen_at, url",
                                 [article_id])],
        "pages": [{**row, "fetched": beijing_time(row["fetched_at"])}
                  for row in rows(conn, "select id, url, status, fetched_at, body_size, "
                                        "content_type from pages where article_id = ? "
                                        "order by id", [article_id])],
    }


def raw_page(conn: sqlite3.Connection, page_id: int) -> tuple[bytes, str] | None:
    """A stored page's body, uncompressed, and a file name for it; None when absent."""
    from archive.pagecodec import decompress_page

    found = rows(conn, "select id, body, codec, content_type from pages where id = ?", [page_id])
    if not found or found[0]["body"] is None:
        return None
    body = decompress_page(conn, found[0])
    return body, f"page-{page_id}.html"
