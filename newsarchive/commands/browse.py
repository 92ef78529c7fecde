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
from newsarchive.commands.warc import ByteSize, write_warc_export

SINCE_OPTION = click.option(
    "--since", metavar="DATE", callback=since_as_written,
    help="Only articles published on or after DATE (YYYY-MM-DD or YYYY-MM-DDTHH:MM, "
         "compared with the time as written: Beijing time for NetEase).")
SOURCE_OPTION = click.option("--source", help="Only articles of this seeds source.")


@click.command(context_settings={"ignore_unknown_options": True})
@DB_OPTION
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on; another than loopback (0.0.0.0) needs --user, "
                   "--root or --public.")
@click.option("-p", "--port", type=int, default=8001, show_default=True,
              help="Port to listen on.")
@click.option("--user", metavar="NAME",
              help="Only NAME, signed in at /-/login with the password whose hash is in "
                   "$NEWSARCHIVE_PASSWORD_HASH (made by `datasette hash-password`), may read.")
@click.option("--root", is_flag=True,
              help="Only datasette's root may read: datasette prints a one-time sign-in URL.")
@click.option("--public", is_flag=True,
              help="Serve beyond localhost without authentication: the archive is public.")
@click.argument("datasette_args", nargs=-1, type=click.UNPROCESSED)
def serve(db: Path | None, host: str, port: int, user: str | None, root: bool, public: bool,
          datasette_args: tuple[str, ...]) -> None:
    """Read the archive in a browser: articles, search, trends; read-only.

    Starts datasette on the archive with archive/metadata.yml and the newsarchive
    plugins. The home page (/) has a search box (Chinese or English, highlighted
    snippets, facets), the latest articles and each source's last run and extraction
    health; an article's page reads as the article, with its versions, near copies,
    URLs and raw pages; /-/trends charts articles per day, matches of a query per day,
    runs and extraction health. The tables, facets and canned queries stay one click
    away (/archive).

    Nothing can be written through it: datasette opens the file read-only (SQLite
    mode=ro, which still sees a running crawl's writes; --immutable would not) and only
    runs SELECT statements; newsarchive installs no upload or write plugin. robots.txt
    asks crawlers to stay out.

    On loopback (the default) anyone on this machine may read. On another interface
    (--host 0.0.0.0) it refuses to start unless --user NAME (password sign-in), --root
    (datasette's root sign-in URL) or --public says who may. Other arguments go to
    `datasette serve`, e.g. --setting sql_time_limit_ms 5000.

    \b
    Examples:
        newsarchive serve                      # http://127.0.0.1:8001/
        newsarchive serve --db news.db --port 8080
        export NEWSARCHIVE_PASSWORD_HASH="$(datasette hash-password)"
        newsarchive serve --host 0.0.0.0 --user editor
        newsarchive serve --host 0.0.0.0 --public
    The same on loopback, with datasette directly:
        datasette archive.db --metadata archive/metadata.yml
    """
    import json
    import tempfile

    from datasette.cli import cli as datasette_cli

    from archive.datasette_plugin import archive_metadata
    from newsarchive.web.access import AccessError, locked_metadata

    path = existing_archive(db)
    try:
        metadata = locked_metadata(archive_metadata(), host, user=user, root=root,
                                   public=public)
    except AccessError as exc:
        raise click.UsageError(str(exc)) from None
    open_archive(path).close()  # bring the schema and the search index up to date first
    _register_plugins()
    click.echo(f"Serving {path} read-only at http://{host}:{port}/"
               f"{' for ' + ', '.join(metadata['allow']['id']) if 'allow' in metadata else ''}",
               err=True)
    # A file without a name, handed to datasette as /dev/fd/N: nothing is left behind
    # however the server ends. A temporary directory was left on every SIGTERM (uvicorn
    # re-raises the signal after its shutdown, so no cleanup runs), with the access rules.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as metadata_file:
        json.dump(metadata, metadata_file, ensure_ascii=False)
        metadata_file.flush()
        metadata_file.seek(0)  # where /dev/fd/N shares the offset (macOS)
        args = ["serve", str(path), "--metadata", f"/dev/fd/{metadata_file.fileno()}",
                "--host", host, "--port", str(port), *(["--root"] if root else []),
                *datasette_args]
        datasette_cli.main(args=args, prog_name="datasette", standalone_mode=False)


def _register_plugins() -> None:
    """The plugins come in as entry points once installed; from a bare checkout, add them."""
    from datasette.plugins import pm

    import archive.datasette_plugin as plugin
    import newsarchive.watch.datasette_routes as watch_routes
    import newsarchive.web as web

    for module, name in ((plugin, "newsarchive"), (web, "newsarchive_web"),
                         (watch_routes, "newsarchive-watch")):
        if not pm.is_registered(module):
            pm.register(module, name=name)


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
    occur; a "quoted phrase" (quote it for the shell too) must occur as written; OR
    between two words finds either; -word leaves out articles holding it. Words
    match whole words or their dictionary parts (互联 finds 互联网), not arbitrary
    substrings. Traditional and Simplified script are one (烏鎮 finds 乌镇), and so are
    full-width and half-width forms (ＡＩ finds AI). Each hit shows date, source, id,
    URL and the passage around the match, with the match highlighted.

    \b
    Examples:
        newsarchive search 乌镇
        newsarchive search 智能网联汽车 --since 2025-11-01 --limit 5
        newsarchive search Tesla --source netease-tech
        newsarchive search '"乌镇之光" 超算'
        newsarchive search '龙湖集团 OR "龙湖地产" -招聘'
    """
    path = existing_archive(db)
    database = open_archive(path)
    words = " ".join(query)
    hits = search_articles(database, words, source=source, since=since, limit=limit)
    print_hits(hits, Console(highlight=False, soft_wrap=True))
    found = f"{len(hits)} hit{'s' if len(hits) != 1 else ''} for" if hits else "nothing matches"
    more = " (the newest; raise --limit for more)" if len(hits) == limit else ""
    click.echo(f"{found} {words!r} in {path}{more}", err=True)


def print_hits(hits: list[dict], console: Console) -> None:
    """Search hits as `newsarchive search` prints them (also `newsarchive watch test`)."""
    for number, hit in enumerate(hits, 1):
        when = (hit["published_at"] or f"seen {hit['first_seen_at']}")[:16].replace("T", " ")
        console.print(Text.assemble(f"{number}. ", _marked(hit["title_marked"], console, "bold")))
        console.print(Text(f"   {when} · {hit['source']} · #{hit['id']} · {hit['url']}",
                           style="dim"))
        console.print(Text.assemble("   ", _marked(hit["snippet"], console)))


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
@click.option("--format", "fmt", type=click.Choice([*FORMATS, "warc"]), default="jsonl",
              show_default=True, help="JSON Lines (one article a line), CSV, or WARC (every "
              "stored page, as fetched).")
@SINCE_OPTION
@click.option("--until", metavar="DATE", callback=since_as_written,
              help="WARC: only pages fetched up to DATE (a date: that whole day; UTC).")
@SOURCE_OPTION
@click.option("--max-size", type=ByteSize(), default=None,
              help="WARC: roll over to numbered files (NAME-00000.warc.gz, ...) once one "
                   "reaches SIZE (e.g. 1G, 500M).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              default=Path("-"), help="Write here instead of to stdout.")
@DB_OPTION
def export(fmt: str, since: str | None, until: str | None, source: str | None,
           max_size: int | None, output: Path, db: Path | None) -> None:
    """Export articles as JSON Lines or CSV, or the stored pages as WARC; streaming.

    Every row has the same fields in the same order (docs/browse-and-search.md):
    id, canonical_url, url, title, author, publisher, published_at, source, site,
    lang, profile, template, fetched_at, first_seen_at, content_hash, duplicate_of,
    status, version, images, text. Text is UTF-8; in CSV an empty cell is null and
    images is a JSON string.

    --format warc writes every stored page (docs/warc.md): a WARC/1.1 `response` record
    with the status, headers and body as fetched, at the URL and time it was fetched, a
    `request` record and a `metadata` record with what extraction made of it (canonical
    URL, profile, template, article id); gzip per record, digests, a `warcinfo` record
    first. Its --since and --until select by fetch time (UTC), --source by the run that
    stored the page.

    \b
    Examples:
        newsarchive export > articles.jsonl
        newsarchive export --format csv -o articles.csv --since 2025-11-01
        newsarchive export --source netease-tech | jq -r .title
        newsarchive export --format warc -o news.warc.gz --since 2025-11-01 --max-size 1G
    """
    path = existing_archive(db)
    if fmt == "warc":
        write_warc_export(path, output, source=source, since=since, until=until,
                          max_size=max_size)
        return
    if until or max_size:
        raise click.UsageError("--until and --max-size are for --format warc")
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
