"""A watch as an Atom feed (feedgen): its matches, newest first.

Served by `newsarchive serve` at /-/watch/NAME.atom (newsarchive/watch/datasette_routes.py)
and printed by `newsarchive feed NAME`. Each entry is one match: its id stable across runs
(`urn:newsarchive:watch:NAME:ARTICLE:EVENT:VERSION`), the article's link, title,
published time, and a summary with the query's words marked.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from archive.fts import HL_CLOSE, HL_OPEN, text_snippet
from archive.watches import load_watches

FEED_ENTRIES = 50
EVENT_PREFIX = {"new": "", "edited": "[edited] ", "removed": "[removed] "}


class UnknownWatch(KeyError):
    """No watch of that name in the archive."""


def watch_feed(db: Any, name: str, *, self_url: str | None = None,
               limit: int = FEED_ENTRIES) -> bytes:
    """The Atom document of watch `name` (UTF-8 bytes). `db`: the archive (a
    sqlite_utils.Database or a sqlite3 connection)."""
    from feedgen.feed import FeedGenerator

    watch = next((w for w in load_watches(db) if w.name == name), None)
    if watch is None:
        known = ", ".join(w.name for w in load_watches(db)) or "none"
        raise UnknownWatch(f"no watch {name!r} in the archive (known: {known}); watches "
                           "come from seeds/*.toml and reach the archive with a crawl")
    rows = _entries(db, name, limit)
    feed = FeedGenerator()
    feed.id(f"urn:newsarchive:watch:{name}")
    feed.title(f"newsarchive watch {name}: {watch.query}")
    feed.subtitle(f"Articles matching {watch.query!r} ({', '.join(watch.events)}), "
                  "newest first.")
    feed.author({"name": "newsarchive"})
    feed.generator("newsarchive")
    if self_url:
        feed.link(href=self_url, rel="self")
    updated = rows[0]["matched_at"] if rows else _updated_at(db, name)
    feed.updated(updated)
    for row in rows:
        entry = feed.add_entry(order="append")
        entry.id(f"urn:newsarchive:watch:{name}:{row['article_id']}:{row['event']}:"
                 f"{row['version']}")
        entry.title(EVENT_PREFIX.get(row["event"], "") + (row["title"] or row["url"]))
        entry.link(href=row["url"])
        published = _moment(row["published_at"] or row["first_seen_at"])
        if published is not None:  # a day without a time has no instant to give
            entry.published(published)
        entry.updated(row["matched_at"])
        entry.summary(_summary(row, watch.query), type="html")
        entry.category(term=row["source"])
    return feed.atom_str(pretty=True)


def _entries(db: Any, name: str, limit: int) -> list[dict[str, Any]]:
    cursor = db.execute("""
        select m.article_id, m.event, m.version, m.matched_at, a.title, a.url, a.source,
               a.published_at, a.first_seen_at, a.text
        from matches m join articles a on a.id = m.article_id
        where m.watch = ? order by m.matched_at desc, m.id desc limit ?""", [name, limit])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _moment(value: str | None) -> datetime | None:
    """An ISO 8601 time with its offset; None for a day alone or a time without offset
    (Atom's times are instants, and inventing midnight or a zone would be wrong)."""
    try:
        moment = datetime.fromisoformat(value) if value and "T" in value else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def _updated_at(db: Any, name: str) -> str:
    return db.execute("select updated_at from watches where name = ?", [name]).fetchone()[0]


def _summary(row: dict[str, Any], query: str) -> str:
    marked = html.escape(text_snippet(row["text"], query, 200))
    # <b>, not <mark>: feed readers (and feedparser) strip the elements they do not know.
    return marked.replace(HL_OPEN, "<b>").replace(HL_CLOSE, "</b>")
