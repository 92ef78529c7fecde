"""The datasette plugin of watchlists: /-/watch/NAME.atom, a watch's Atom feed.

A plugin module of its own (the `newsarchive-watch` entry point, and registered by
`newsarchive serve` from a bare checkout) because the feed is the watch room's: the
archive's plugin (archive/datasette_plugin.py) sits below the application and cannot
import it. `?db=NAME` picks the archive when datasette serves several; by default the
first database holding a `watches` table.
"""

from __future__ import annotations

from typing import Any

from datasette import Response, hookimpl

from newsarchive.watch.feed import UnknownWatch, watch_feed

ROUTE = r"^/-/watch/(?P<name>[a-z0-9][a-z0-9_-]*)\.atom$"


def _has_watches(conn: Any) -> bool:
    return bool(conn.execute(
        "select 1 from sqlite_master where type = 'table' and name = 'watches'").fetchone())


async def _archive(datasette: Any, wanted: str | None) -> Any:
    for name, db in datasette.databases.items():
        if db.is_memory or name == "_internal" or (wanted and name != wanted):
            continue
        if await db.execute_fn(_has_watches):
            return db
    return None


async def feed_view(datasette: Any, request: Any) -> Response:
    name = request.url_vars["name"]
    db = await _archive(datasette, request.args.get("db"))
    if db is None:
        return Response.text("no archive with watches here", status=404)
    self_url = datasette.absolute_url(request, request.full_path)

    def build(conn: Any) -> bytes:
        return watch_feed(conn, name, self_url=self_url)

    try:
        body = await db.execute_fn(build)
    except UnknownWatch as exc:
        return Response.text(str(exc.args[0]), status=404)
    return Response(body, content_type="application/atom+xml; charset=utf-8")


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [(ROUTE, feed_view)]
