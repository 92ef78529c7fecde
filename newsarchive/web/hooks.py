"""Datasette hooks of the reading pages: the article reader, the home page, search, trends,
the raw page download and the files they load (all served by newsarchive itself).

Every page checks datasette's permissions as datasette's own pages do (view-instance,
view-database, and view-table for what is read from a table), so an archive served with
authentication (newsarchive/web/access.py) shows none of them to a visitor not signed in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from importlib import resources
from typing import Any

from datasette import Forbidden, Response, hookimpl

from newsarchive.web.home import home, search
from newsarchive.web.reader import article_page, raw_page
from newsarchive.web.trends import DAYS, trends

STATIC = resources.files("newsarchive.web") / "static"
# The files the pages load, by URL path under /-/newsarchive/: nothing else is served.
STATIC_FILES = {
    "web.css": "text/css; charset=utf-8",
    "reader.js": "text/javascript; charset=utf-8",
    "trends.js": "text/javascript; charset=utf-8",
    "vendor/vega.min.js": "text/javascript; charset=utf-8",
    "vendor/vega-lite.min.js": "text/javascript; charset=utf-8",
    "vendor/vega-embed.min.js": "text/javascript; charset=utf-8",
}
STATIC_PREFIX = "/-/newsarchive/"


def archive_name(datasette: Any) -> str | None:
    """The archive the home, search and trends pages read: the first one served
    (archive.datasette_plugin finds them at startup)."""
    names = getattr(datasette, "_newsarchive_archives", [])
    return names[0] if names else None


async def allowed(datasette: Any, request: Any, database: str,
                  table: str | None = None) -> None:
    """Raise Forbidden unless the visitor may see the database (and table)."""
    checks: list[Any] = [("view-table", (database, table))] if table else []
    await datasette.ensure_permissions(
        request.actor, [*checks, ("view-database", database), "view-instance"])


async def read(datasette: Any, database: str, fn: Callable[[sqlite3.Connection], Any]) -> Any:
    return await datasette.get_database(database).execute_fn(fn)


def not_found(message: str) -> Response:
    return Response.text(f"Not found: {message}", status=404)


def text_arg(request: Any, name: str) -> str | None:
    value = (request.args.get(name) or "").strip()
    return value or None


def int_arg(request: Any, name: str, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(request.args.get(name, default))))
    except ValueError:
        return default


async def search_view(datasette: Any, request: Any) -> Response:
    name = archive_name(datasette)
    if name is None:
        return not_found("no archive is served")
    await allowed(datasette, request, name, "articles")
    query = text_arg(request, "q")
    results = None
    if query:
        source, day = text_arg(request, "source"), text_arg(request, "day")
        limit = int_arg(request, "limit", 50, 1, 1000)
        results = await read(datasette, name, lambda conn: search(
            conn, query, source=source, day=day, limit=limit))
    return Response.html(await datasette.render_template(
        "newsarchive_search.html", {"archive": name, "query": query or "", "results": results},
        request=request))


async def trends_view(datasette: Any, request: Any) -> Response:
    name = archive_name(datasette)
    if name is None:
        return not_found("no archive is served")
    await allowed(datasette, request, name, "articles")
    query = text_arg(request, "q")
    days = int_arg(request, "days", DAYS, 7, 3660)
    data = await read(datasette, name, lambda conn: trends(conn, query, days))
    return Response.html(await datasette.render_template(
        "newsarchive_trends.html", {"archive": name, **data}, request=request))


async def raw_page_view(datasette: Any, request: Any) -> Response:
    """A stored page as a download: never rendered (attachment, octet-stream, nosniff,
    and a sandbox should a browser render it anyway)."""
    database = request.url_vars["database"]
    if database not in getattr(datasette, "_newsarchive_archives", []):
        return not_found("no such archive")
    await allowed(datasette, request, database, "pages")
    page_id = int(request.url_vars["page_id"])
    found = await read(datasette, database, lambda conn: raw_page(conn, page_id))
    if found is None:
        return not_found(f"no stored page {page_id}")
    body, filename = found
    return Response(body, status=200, content_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
    })


async def static_view(request: Any) -> Response:
    path = request.url_vars["path"]
    if path not in STATIC_FILES:
        return not_found(path)
    return Response((STATIC / path).read_bytes(), content_type=STATIC_FILES[path],
                    headers={"Cache-Control": "max-age=3600"})


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [
        (r"^/-/search$", search_view),
        (r"^/-/trends$", trends_view),
        (r"^/(?P<database>[^/]+)/-/pages/(?P<page_id>[0-9]{1,18})/raw$", raw_page_view),
        (r"^/-/newsarchive/(?P<path>[a-z0-9./-]+)$", static_view),
    ]


@hookimpl
def extra_template_vars(view_name: str, database: str | None, table: str | None,
                        request: Any, datasette: Any) -> Any:
    """The article for the reader (row page of articles), the home page's contents."""

    async def values() -> dict[str, Any]:
        archives = getattr(datasette, "_newsarchive_archives", [])
        if view_name == "row" and table == "articles" and database in archives:
            try:
                article_id = int(request.url_vars.get("pks", ""))
            except ValueError:
                return {}
            article = await read(datasette, database, lambda c: article_page(c, article_id))
            return {"newsarchive_article": article, "newsarchive_archive": database}
        if view_name == "index" and archives:
            name = archives[0]
            try:
                await allowed(datasette, request, name, "articles")
            except Forbidden:
                return {}  # datasette's own index lists what the visitor may see
            return {"newsarchive_home": await read(datasette, name, home),
                    "newsarchive_archive": name}
        return {}

    return values


@hookimpl
def extra_css_urls(datasette: Any) -> list[str]:
    return [datasette.urls.path(STATIC_PREFIX + "web.css")]


@hookimpl
def menu_links(datasette: Any) -> list[dict[str, str]]:
    if archive_name(datasette) is None:
        return []
    return [{"href": datasette.urls.path("/"), "label": "Home: search and latest"},
            {"href": datasette.urls.path("/-/search"), "label": "Search articles"},
            {"href": datasette.urls.path("/-/trends"), "label": "Trends"}]
