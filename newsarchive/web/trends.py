"""The trends page: Vega-Lite specifications with their data inline, built from the archive.

Charts (each a Vega-Lite spec; the page embeds them with vega-embed, served locally):
articles per day per source; for a query, matching articles per day per source (the
search's own MATCH expression); crawl runs per source (pages, new articles, failures);
extraction health over runs (generic fallback, no date, short body), where a site's
template change shows as a step.

Days are the day as written (Beijing time for NetEase), as the day facet has them, over
the DAYS days up to the newest article (not up to today: an archive that stopped being
crawled still shows its last weeks).
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from typing import Any

import sqlite_utils

from archive.fts import FTS_TABLE, to_match
from newsarchive.web.home import search
from newsarchive.web.reader import rows

DAYS = 30
RUNS = 60  # runs per source in the runs and health charts
LISTED = 10  # matching articles listed under the chart; the search page has them all
DAY = "substr(coalesce(a.published_at, a.first_seen_at), 1, 10)"
WIDTH = "container"


def day_window(conn: sqlite3.Connection, days: int) -> tuple[str, str] | None:
    """(first, last) day shown: the `days` days up to the newest article's day."""
    newest = conn.execute(f"select max({DAY}) from articles a "
                          f"where {DAY} glob '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'"
                          ).fetchone()[0]
    if newest is None:
        return None
    first = conn.execute("select date(?, ?)", [newest, f"-{days - 1} days"]).fetchone()[0]
    return first, newest


def per_day(conn: sqlite3.Connection, window: tuple[str, str],
            query: str | None = None) -> list[dict[str, Any]]:
    """Articles (matching `query`, if given) per day and source within the window."""
    where = f"{DAY} between :first and :last"
    params = {"first": window[0], "last": window[1]}
    if query is not None:
        where += f" and a.id in (select rowid from {FTS_TABLE} where {FTS_TABLE} match :match)"
        params["match"] = to_match(query)
    return rows(conn, f"select {DAY} as day, a.source, count(*) as articles from articles a "
                      f"where {where} group by day, a.source order by day, a.source", params)


def day_chart(title: str, data: list[dict[str, Any]], window: tuple[str, str]) -> dict[str, Any]:
    # A day's bar spans the day: the scale runs to the end of the last one.
    end = (date.fromisoformat(window[1]) + timedelta(days=1)).isoformat()
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "title": title, "width": WIDTH, "height": 220,
        "data": {"values": data},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": {"field": "day", "type": "temporal", "timeUnit": "yearmonthdate",
                  "title": "day", "scale": {"domain": [window[0], end]}},
            "y": {"field": "articles", "type": "quantitative", "aggregate": "sum",
                  "title": "articles"},
            "color": {"field": "source", "type": "nominal"},
        },
    }


def runs(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The last RUNS runs of each source, one row per run and measure (long form)."""
    found = rows(conn, """
        select id, source, started_at, pages_fetched, articles_new, failures from (
            select *, row_number() over (partition by source order by id desc) as n
            from crawl_runs) where n <= ? order by id""", [RUNS])
    names = {"pages_fetched": "pages", "articles_new": "new articles", "failures": "failures"}
    return [{"run": run["id"], "source": run["source"], "started": run["started_at"],
             "measure": label, "count": run[column] or 0}
            for run in found for column, label in names.items()]


def runs_chart(data: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "title": "Crawl runs per source",
        "data": {"values": data},
        "facet": {"row": {"field": "measure", "type": "nominal", "title": None,
                          "sort": ["pages", "new articles", "failures"]}},
        "resolve": {"scale": {"y": "independent"}},
        "spec": {
            "width": 760, "height": 110,
            "mark": {"type": "line", "point": True, "tooltip": True},
            "encoding": {
                "x": {"field": "started", "type": "temporal", "title": "run started (UTC)",
                      "axis": {"format": "%b %d %H:%M", "labelOverlap": True}},
                "y": {"field": "count", "type": "quantitative", "title": None},
                "color": {"field": "source", "type": "nominal"},
            },
        },
    }


def health(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Extraction health of each source's last RUNS runs (archive.queries.extraction_runs),
    one row per run and measure, oldest first."""
    from archive.queries import extraction_runs

    db = sqlite_utils.Database(conn)
    labels = {"generic": "generic fallback", "no_date": "no date", "short": "short body"}
    data = []
    for (source,) in conn.execute("select distinct source from crawl_runs order by source"):
        for run in reversed(extraction_runs(db, source, RUNS)):
            data.extend({"source": source, "run": run["run_id"], "started": run["started_at"],
                         "articles": run["articles"], "measure": label,
                         "share": run[f"{measure}_share"]}
                        for measure, label in labels.items()
                        if run[f"{measure}_share"] is not None)
    return data


def health_chart(data: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "title": "Extraction health per run (share of the run's articles)",
        "data": {"values": data},
        "facet": {"row": {"field": "source", "type": "nominal", "title": None}},
        "spec": {
            "width": 760, "height": 110,
            "mark": {"type": "line", "point": True, "tooltip": True,
                     "interpolate": "step-after"},
            "encoding": {
                "x": {"field": "started", "type": "temporal", "title": "run started (UTC)",
                      "axis": {"format": "%b %d %H:%M", "labelOverlap": True}},
                "y": {"field": "share", "type": "quantitative", "title": None,
                      "axis": {"format": ".0%"}, "scale": {"domain": [0, 1]}},
                "color": {"field": "measure", "type": "nominal"},
                # Dashed differently too: measures at the same share draw over each other.
                "strokeDash": {"field": "measure", "type": "nominal"},
            },
        },
    }


def trends(conn: sqlite3.Connection, query: str | None = None,
           days: int = DAYS) -> dict[str, Any]:
    """The charts (id -> spec) and, for a query, the matching articles listed below."""
    charts: dict[str, dict[str, Any]] = {}
    window = day_window(conn, days)
    found = None
    if window is not None:
        charts["articles"] = day_chart(
            f"Articles per day per source ({window[0]} to {window[1]})",
            per_day(conn, window), window)
        if query:
            matching = per_day(conn, window, query)
            charts["matches"] = day_chart(f"Articles matching {query} per day", matching,
                                          window)
            found = search(conn, query, limit=LISTED)
    run_data = runs(conn)
    if run_data:
        charts["runs"] = runs_chart(run_data)
    health_data = health(conn)
    if health_data:
        charts["health"] = health_chart(health_data)
    return {"charts": charts, "query": query, "window": window, "search": found,
            "days": days}
