"""The datasette plugin that makes an archive browsable: Chinese search, day facet, body display.

Registered as the `newsarchive` entry point in the `datasette` group (pyproject.toml), so a
plain `datasette archive.db` picks it up once the package is installed. What it adds:

* Chinese search. Datasette turns `?_search=乌镇` into
  `articles_fts match escape_fts(:search)`; on a database holding our index we register our
  own `escape_fts`, which segments the words with jieba exactly as the index was
  (archive.fts.to_match). Overriding that one SQL function is the hook datasette 0.65.5
  offers between the search box and MATCH; it also covers `?_search_title=`. Only
  `?_searchmode=raw` bypasses it (raw FTS5 syntax, for users who segment by hand).
  SQL functions for custom queries: zh_query(words), zh_segment(text),
  zh_snippet(text, words) (the passage of an article's text around the first match,
  marked; the index is contentless, so FTS5's own highlight() has no text to mark).
* A "day" facet: the publication date as written (Beijing time for NetEase). Datasette's
  own date facet uses SQLite's date(), which converts '2025-11-14T07:16:49+08:00' to UTC
  and so files every article published before 08:00 under the previous day.
* archive/metadata.yml for archives not named archive.db (e.g. news.db), line breaks in
  article bodies (CSS), <mark> in search snippets, and the article_versions canned query
  once that table exists.
"""

from __future__ import annotations

import copy
import functools
import sqlite3
from pathlib import Path
from typing import Any

import markupsafe
import yaml
from datasette import Response, hookimpl
from datasette.facets import DateFacet
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args

from archive.fts import (
    FTS_TABLE,
    HL_CLOSE,
    HL_OPEN,
    segment,
    snippet,
    text_snippet,
    to_match,
    unsegment,
)

METADATA_FILE = Path(__file__).with_name("metadata.yml")
TEMPLATE_DB = "archive"  # the database name metadata.yml describes
CSS_PATH = "/-/newsarchive.css"
CSS = """
/* Article bodies are one paragraph a line: show the lines. In the table, a few lines of
   each body (the row page shows it all); datasette's own cell truncation does not apply to
   what render_cell returns. */
.rows-and-columns td.col-text, .rows-and-columns td.col-snippet { white-space: pre-wrap; }
.article-text { white-space: pre-wrap; }
body.table .article-text { min-width: 28em; max-height: 7.5em; overflow: hidden; }
body.row .article-text { min-width: 36em; max-width: 48em; }
.rows-and-columns td.col-title { min-width: 12em; }
mark { background: #ffe066; padding: 0 1px; }
/* Every column is described; datasette lists them one per two lines above the table, a
   screenful before the first row. Keep the list, compact and scrollable. */
dl.column-descriptions {
  display: grid; grid-template-columns: max-content 1fr; gap: 0 1em;
  font-size: 0.8rem; max-height: 8.5em; overflow-y: auto;
  border: 1px solid #ddd; padding: 0.3em 0.6em;
}
dl.column-descriptions dt { margin: 0; }
dl.column-descriptions dd { margin: 0; color: #555; }
"""


@functools.cache
def archive_metadata() -> dict[str, Any]:
    return yaml.safe_load(METADATA_FILE.read_text("utf-8"))


def is_archive(conn: sqlite3.Connection) -> bool:
    found = conn.execute(
        "select count(*) from sqlite_master where type = 'table' and name in ('articles', ?)",
        [FTS_TABLE]).fetchone()[0]
    return found == 2


@hookimpl(trylast=True)
def prepare_connection(conn: sqlite3.Connection, database: str) -> None:
    # trylast: datasette's own prepare_connection registers escape_fts; ours must come after
    # to replace it.
    conn.create_function("zh_query", 1, to_match, deterministic=True)
    conn.create_function("zh_segment", 1, segment, deterministic=True)
    conn.create_function("zh_snippet", 1, _zh_snippet, deterministic=True)
    conn.create_function("zh_snippet", 2, _zh_text_snippet, deterministic=True)
    if database != "_internal" and is_archive(conn):
        conn.create_function("escape_fts", 1, to_match, deterministic=True)


def _zh_snippet(marked: str | None) -> str | None:
    """zh_snippet(highlight(...)): for an FTS5 table that keeps its text (before m005)."""
    return None if marked is None else snippet(unsegment(marked))


def _zh_text_snippet(text: str | None, query: str | None) -> str | None:
    return None if text is None else text_snippet(text, query or "")


@hookimpl
def startup(datasette: Any) -> Any:
    async def find_archives() -> None:
        names = []
        for name, db in datasette.databases.items():
            if db.is_memory or name == "_internal":
                continue
            if await db.execute_fn(is_archive):
                names.append(name)
        datasette._newsarchive_archives = names

    return find_archives


@hookimpl
def get_metadata(datasette: Any) -> dict[str, Any]:
    """metadata.yml's description of `archive`, for every archive served under another name."""
    names = getattr(datasette, "_newsarchive_archives", [])
    if not names:
        return {}
    template = archive_metadata()
    # A fresh copy each time: datasette merges other metadata into what we return.
    block = template["databases"][TEMPLATE_DB]
    extra = {"databases": {name: copy.deepcopy(block) for name in names}}
    extra.update({k: v for k, v in template.items() if k != "databases"})
    return extra


@hookimpl
def canned_queries(datasette: Any, database: str) -> Any:
    """An article's versions, once the archive has an article_versions table."""

    async def queries() -> dict[str, Any]:
        if database not in getattr(datasette, "_newsarchive_archives", []):
            return {}
        db = datasette.get_database(database)
        if not await db.table_exists("article_versions"):
            return {}
        columns = await db.table_columns("article_versions")
        if not {"article_id", "version"} <= set(columns):
            return {}
        return {"article_versions": {
            "title": "An article's versions",
            "description": "Earlier versions of one article (enter its id), oldest first, "
                           "then the current one in the articles table.",
            "sql": "select v.*, a.title as current_title, a.version as current_version "
                   "from article_versions v join articles a on a.id = v.article_id "
                   "where v.article_id = :article_id order by v.version",
        }}

    return queries


@hookimpl
def render_cell(value: Any, column: str, table: str | None) -> Any:
    if table == "articles" and column == "text" and isinstance(value, str):
        # A block the CSS can cut to a few lines on the table page and show whole on the
        # article's page (render_cell is not told which page it renders for).
        return markupsafe.Markup('<div class="article-text">{}</div>').format(value)
    # Search snippets carry private-use highlight markers (archive.fts); show them as <mark>.
    if isinstance(value, str) and HL_OPEN in value:
        html = str(markupsafe.escape(value))
        return markupsafe.Markup(html.replace(HL_OPEN, "<mark>").replace(HL_CLOSE, "</mark>"))
    return None


@hookimpl
def extra_css_urls(datasette: Any) -> list[str]:
    return [datasette.urls.path(CSS_PATH)]


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    async def css() -> Response:
        return Response(CSS, content_type="text/css; charset=utf-8",
                        headers={"Cache-Control": "max-age=3600"})

    return [(r"^/-/newsarchive\.css$", css)]


@hookimpl
def register_facet_classes() -> list[type]:
    return [DayFacet]


class DayFacet(DateFacet):
    """Facet by the date as written in an ISO 8601 column (its first ten characters).

    Selecting a day filters with `column__startswith=YYYY-MM-DD`, which an index on the
    column serves. Configure as `facets: [{day: published_at}]` or `?_facet_day=published_at`.
    """

    type = "day"

    async def suggest(self) -> list[dict[str, Any]]:
        return []  # datasette suggests its own date facet for these columns

    async def facet_results(self) -> tuple[list[dict[str, Any]], list[str]]:
        from datasette.database import QueryInterrupted

        facet_results: list[dict[str, Any]] = []
        timed_out: list[str] = []
        args = dict(self.get_querystring_pairs())
        size = self.get_facet_size()
        for source_and_config in self.get_configs():
            config = source_and_config["config"]
            column = config.get("column") or config["simple"]
            col = escape_sqlite(column)
            sql = f"""
                select substr({col}, 1, 10) as value, count(*) as count from ({self.sql})
                where {col} glob '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'
                group by value order by value desc limit {size + 1}
            """
            try:
                rows = await self.ds.execute(
                    self.database, sql, self.params, truncate=False,
                    custom_time_limit=self.ds.setting("facet_time_limit_ms"))
            except QueryInterrupted:
                timed_out.append(column)
                continue
            key = f"{column}__startswith"
            values = []
            for row in rows.rows[:size]:
                selected = args.get(key) == row["value"]
                path = (path_with_removed_args(self.request, {key: row["value"]}) if selected
                        else path_with_added_args(self.request, {key: row["value"]}))
                values.append({"value": row["value"], "label": row["value"],
                               "count": row["count"], "selected": selected,
                               "toggle_url": self.ds.absolute_url(self.request, path)})
            facet_results.append({
                "name": column, "type": self.type, "results": values,
                "hideable": source_and_config["source"] != "metadata",
                "toggle_url": path_with_removed_args(self.request, {"_facet_day": column}),
                "truncated": len(rows) > size,
            })
        return facet_results, timed_out
