"""`newsarchive serve`, `search` and `export`: read what the archive holds.

Registered on the `newsarchive` group in newsarchive/cli.py.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from archive import open_archive
from archive.export import FORMATS
from archive.export import export as export_articles
from archive.fts import HL_CLOSE, HL_OPEN
from archive.fts import search as search_articles
from newsarchive.commands.options import DB_OPTION, existing_archive, since_as_written

SINCE_OPTION = click.option(
    "--since", metavar="DATE", callback=since_as_written,
    help="Only articles published on or after DATE (YYYY-MM-DD or YYYY-MM-DDTHH:MM, "
         "compared with the time as written: Beijing time for NetEase).")
SOURCE_OPTION = click.option("--source", help="Only articles of this seeds source.")


@click.command(context_settings={"ignore_unknown_options": True})
@DB_OPTION
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on; 0.0.0.0 shares the archive with your network.")
@click.option("-p", "--port", type=int, default=8001, show_default=True,
              help="Port to listen on.")
@click.argument("datasette_args", nargs=-1, type=click.UNPROCESSED)
def serve(db: Path | None, host: str, port: int, datasette_args: tuple[str, ...]) -> None:
    """Browse and search the archive in datasette, read-only.

    Starts datasette on the archive with archive/metadata.yml: described tables, facets
    (source, site, author, publisher, day), newest articles first, Chinese full-text
    search in the articles table's search box, and canned queries (search with snippets,
    latest articles, articles per source per day, duplicate clusters, an article's
    versions, failures of the last run, crawl runs).

    Nothing can be written through it: datasette opens the file read-only (SQLite
    mode=ro, which still sees a running crawl's writes; --immutable would not) and only
    runs SELECT statements; newsarchive installs no upload or write plugin. Other
    arguments are passed on to `datasette serve`, e.g. --setting sql_time_limit_ms 5000.

    \b
    Examples:
        newsarchive serve                      # http://127.0.0.1:8001/archive/articles
        newsarchive serve --db news.db --port 8080
        newsarchive serve --setting default_page_size 20
    The same, with datasette directly:
        datasette archive.db --metadata archive/metadata.yml
    """
    from datasette.cli import cli as datasette_cli

    from archive.datasette_plugin import METADATA_FILE

    path = existing_archive(db)
    open_archive(path).close()  # bring the schema and the search index up to date first
    _register_plugin()
    click.echo(f"Serving {path} read-only at http://{host}:{port}/{path.stem}/articles",
               err=True)
    args = ["serve", str(path), "--metadata", str(METADATA_FILE),
            "--host", host, "--port", str(port), *datasette_args]
    datasette_cli.main(args=args, prog_name="datasette")


def _register_plugin() -> None:
    """The plugin comes in as an entry point once installed; from a bare checkout, add it."""
    from datasette.plugins import pm

    import archive.datasette_plugin as plugin

    if not pm.is_registered(plugin):
        pm.register(plugin, name="newsarchive")


@click.command()
@click.argument("query", nargs=-1, required=True)
@SOURCE_OPTION
@SINCE_OPTION
@click.option("-n", "--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Show at most this many hits.")
@DB_OPTION
def search(query: tuple[str, ...], source: str | None, since: str | None, limit: int,
           db: Path | None) -> None:
    """Full-text search of titles and bodies, in Chinese or English; newest hits first.

    QUERY is segmented into words by jieba, as the index is: 乌镇, 桐乡, 智能网联汽车 or
    Tesla are found as words (Latin letters in any case). Several words must all
    occur; a "quoted phrase" (quote it for the shell too) must occur as written. Words
    match whole words or their dictionary parts (互联 finds 互联网), not arbitrary
    substrings. Each hit shows date, source, id, URL and the passage around the match,
    with the match highlighted.

    \b
    Examples:
        newsarchive search 乌镇
        newsarchive search 智能网联汽车 --since 2025-11-01 --limit 5
        newsarchive search Tesla --source netease-tech
        newsarchive search '"乌镇之光" 超算'
    """
    path = existing_archive(db)
    database = open_archive(path)
    words = " ".join(query)
    hits = search_articles(database, words, source=source, since=since, limit=limit)
    console = Console(highlight=False, soft_wrap=True)
    for number, hit in enumerate(hits, 1):
        when = (hit["published_at"] or f"seen {hit['first_seen_at']}")[:16].replace("T", " ")
        console.print(Text.assemble(f"{number}. ", _marked(hit["title_marked"], console, "bold")))
        console.print(Text(f"   {when} · {hit['source']} · #{hit['id']} · {hit['url']}",
                           style="dim"))
        console.print(Text.assemble("   ", _marked(hit["snippet"], console)))
    found = f"{len(hits)} hit{'s' if len(hits) != 1 else ''} for" if hits else "nothing matches"
    more = " (the newest; raise --limit for more)" if len(hits) == limit else ""
    click.echo(f"{found} {words!r} in {path}{more}", err=True)


def _marked(text: str, console: Console, style: str = "") -> Text:
    """Highlighted matches: reversed on a terminal, [in brackets] when piped."""
    out = Text(style=style)
    on_terminal = console.is_terminal
    for index, part in enumerate(text.replace(HL_CLOSE, HL_OPEN).split(HL_OPEN)):
        if index % 2:
            out.append(part if on_terminal else f"[{part}]",
                       style="bold black on yellow" if on_terminal else "")
        else:
            out.append(part)
    return out


@click.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="jsonl",
              show_default=True, help="JSON Lines (one article a line) or CSV.")
@SINCE_OPTION
@SOURCE_OPTION
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              default=Path("-"), help="Write here instead of to stdout.")
@DB_OPTION
def export(fmt: str, since: str | None, source: str | None, output: Path,
           db: Path | None) -> None:
    """Export articles as JSON Lines or CSV, in id order, streaming (constant memory).

    Every row has the same fields in the same order (docs/browse-and-search.md):
    id, canonical_url, url, title, author, publisher, published_at, source, site,
    lang, profile, template, fetched_at, first_seen_at, content_hash, duplicate_of,
    status, version, images, text. Text is UTF-8; in CSV an empty cell is null and
    images is a JSON string.

    \b
    Examples:
        newsarchive export > articles.jsonl
        newsarchive export --format csv -o articles.csv --since 2025-11-01
        newsarchive export --source netease-tech | jq -r .title
    """
    path = existing_archive(db)
    database = open_archive(path)
    if str(output) == "-":
        # Always UTF-8, whatever the locale; newline="" as the csv module wants.
        stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
        try:
            count = export_articles(database, stream, fmt, since=since, source=source)
        finally:
            stream.flush()
            stream.detach()
        where = "stdout"
    else:
        with output.open("w", encoding="utf-8", newline="") as stream:
            count = export_articles(database, stream, fmt, since=since, source=source)
        where = str(output)
    click.echo(f"exported {count} article{'s' if count != 1 else ''} to {where}", err=True)
