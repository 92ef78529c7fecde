"""The home page (search box, latest articles, sources and their health, watches) and the
search results page.

Search means what `newsarchive search` means: the same MATCH expression (archive.fts:
to_match), the same order (newest first by the time as written, first-seen time for
articles without one), the same marked titles and snippets.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from archive.fts import FTS_TABLE, HL_CLOSE, HL_OPEN, mark_title, text_snippet, to_match
from newsarchive.web.reader import beijing_time, rows, table_exists, web_url

LATEST = 20
PAGE = 50
# Shown beside the health of a source's last run: what a user reads at a glance.
HEALTH_LABELS = {"generic": "generic fallback", "no_date": "no date", "short": "short body",
                 "no_author": "no author", "no_article": "no article"}
# An article's time on the reading pages; archive m015's index is on this expression.
WHEN = "coalesce(a.published_at, a.first_seen_at)"


def marked_runs(text: str | None) -> list[tuple[bool, str]]:
    """Text with archive.fts highlight markers as (highlighted, piece) runs."""
    runs = []
    for index, piece in enumerate((text or "").replace(HL_CLOSE, HL_OPEN).split(HL_OPEN)):
        if piece:
            runs.append((index % 2 == 1, piece))
    return runs


def latest(conn: sqlite3.Connection, limit: int = LATEST) -> list[dict[str, Any]]:
    return [{**row, "when": beijing_time(row["published_at"] or row["first_seen_at"])}
            for row in rows(conn, f"select a.id, a.title, a.source, a.published_at, "
                                  f"a.first_seen_at from articles a "
                                  f"order by {WHEN} desc, a.id desc limit ?", [limit])]


def sources(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Per source: articles, newest, its last run, and the last run's extraction health
    beside the runs before it (archive.queries.extraction_health)."""
    from archive.queries import extraction_health, source_stats

    db = sqlite_utils.Database(conn)
    last_runs = {row["source"]: row for row in rows(conn, """
        select source, id, status, started_at, finished_at, pages_fetched, articles_new,
               failures from crawl_runs
        where id in (select max(id) from crawl_runs group by source)""")}
    health = {item["source"]: item for item in extraction_health(db)}
    found = []
    for stats in source_stats(db):
        run = last_runs.get(stats["source"])
        item = health.get(stats["source"])
        found.append({
            **stats,
            "newest": beijing_time(stats["newest"]),
            "run": run and {**run, "started": beijing_time(run["started_at"])},
            "health": item and [
                {"label": HEALTH_LABELS[m], "share": item["last_run"][f"{m}_share"],
                 "flagged": any(f["measure"] == m for f in item["flags"]),
                 "before": item["previous"][f"{m}_share"]}
                for m in ("generic", "no_date", "short")],
            "flagged": bool(item and item["flags"]),
        })
    return found


def watches(conn: sqlite3.Connection) -> list[dict[str, Any]] | None:
    """The watchlists (the `watches` and `matches` tables) with their matches this week
    and last; None when the archive has no watches table yet."""
    if not (table_exists(conn, "watches") and table_exists(conn, "matches")):
        return None
    now = datetime.now(UTC)
    week, fortnight = ((now - timedelta(days=days)).isoformat() for days in (7, 14))
    try:
        return rows(conn, """
            select w.name, w.query, count(m.id) as matches, max(m.matched_at) as last_match,
                   total(m.matched_at >= :week) as this_week,
                   total(m.matched_at >= :fortnight and m.matched_at < :week) as last_week
            from watches w left join matches m on m.watch = w.name
            group by w.name order by w.name""", {"week": week, "fortnight": fortnight})
    except sqlite3.OperationalError:
        return None  # a watches table of another shape: show nothing rather than fail


def home(conn: sqlite3.Connection) -> dict[str, Any]:
    return {"latest": latest(conn), "sources": sources(conn), "watches": watches(conn),
            "articles": conn.execute("select count(*) from articles").fetchone()[0]}


def search(conn: sqlite3.Connection, query: str, *, source: str | None = None,
           day: str | None = None, limit: int = PAGE) -> dict[str, Any]:
    """Articles matching `query` (newest first, `limit` of them), each with its marked
    title and snippet, and facets (source, day) over every match."""
    where = [f"a.id in (select rowid from {FTS_TABLE} where {FTS_TABLE} match :match)"]
    params: dict[str, Any] = {"match": to_match(query), "limit": limit}
    facets = {"source": rows(conn, f"select source as value, count(*) as count from articles a "
                                   f"where {where[0]} group by source "
                                   f"order by count desc, source", params),
              "day": rows(conn, f"select substr({WHEN}, 1, 10) as value, count(*) as count "
                                f"from articles a where {where[0]} group by value "
                                f"order by value desc limit 60", params)}
    if source:
        where.append("a.source = :source")
        params["source"] = source
    if day:
        where.append(f"substr({WHEN}, 1, 10) = :day")
        params["day"] = day
    condition = " and ".join(where)
    total = conn.execute(f"select count(*) from articles a where {condition}", params).fetchone()[0]
    hits = []
    for row in rows(conn, f"select a.id, a.title, a.url, a.source, a.published_at, "
                          f"a.first_seen_at, a.text from articles a where {condition} "
                          f"order by {WHEN} desc, a.id desc limit :limit", params):
        hits.append({"id": row["id"], "source": row["source"], "link": web_url(row["url"]),
                     "url": row["url"],
                     "when": beijing_time(row["published_at"] or row["first_seen_at"]),
                     "title": marked_runs(mark_title(row["title"], query)),
                     "snippet": marked_runs(text_snippet(row["text"], query))})
    return {"query": query, "source": source, "day": day, "total": total, "hits": hits,
            "facets": facets, "limit": limit}
