"""`newsarchive watch list|test|matches|send` and `newsarchive feed NAME`: watchlists.

Registered on the `newsarchive` group in newsarchive/cli.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from archive import open_archive, resolve_db_path
from archive.fts import search as search_articles
from archive.watches import watch_matches, watch_summaries
from crawler.seeds import SeedsError, load_watches
from crawler.watchseeds import Watch, target_label
from newsarchive.commands.options import DB_OPTION, SEEDS_OPTION, existing_archive, since_utc


def seeds_watches(seeds_dir: Path, names: tuple[str, ...] = ()) -> list[Watch]:
    """The seeds' watches (the named ones); a clear error for a bad file or name."""
    try:
        watches = load_watches(seeds_dir)
    except SeedsError as exc:
        raise click.ClickException(str(exc)) from None
    by_name = {w.name: w for w in watches}
    for name in names:
        if name not in by_name:
            known = ", ".join(sorted(by_name)) or f"none in {seeds_dir}"
            raise click.BadParameter(f"unknown watch {name!r} (known: {known})",
                                     param_hint="NAME")
    return [by_name[n] for n in names] if names else watches


@click.group()
def watch() -> None:
    """Watchlists: saved searches from seeds/*.toml whose matches are sent to people.

    A `[[watch]]` in a seeds file names a query (the syntax of `newsarchive search`),
    the events to watch (new, edited, removed articles), the Apprise URLs to notify and a
    digest period. Each crawl matches what it stores and then sends what is owed.

    \b
    Examples:
        newsarchive watch list
        newsarchive watch test longhu
        newsarchive watch matches longhu --since 2025-11-01 --json
        newsarchive watch send longhu
        newsarchive feed longhu > longhu.atom
    """


@watch.command("list")
@DB_OPTION
@SEEDS_OPTION
def list_watches(db: Path | None, seeds_dir: Path) -> None:
    """Each watch of the seeds: query, events, digest, targets, matches, owed messages,
    last delivery and failed attempts (with the last error).

    \b
    Example:
        newsarchive watch list --db news.db
    """
    watches = seeds_watches(seeds_dir)
    path = resolve_db_path(db)
    stored = {row["name"]: row for row in watch_summaries(open_archive(path))} \
        if path.exists() else {}
    console = Console(highlight=False, soft_wrap=True)
    for w in watches:
        row = stored.get(w.name, {})
        failures = str(row.get("failures") or 0)
        if row.get("last_error"):
            failures += f" (last: {row['last_error']})"
        console.print(Text.assemble((w.name, "bold"), "  ", w.query))
        console.print(f"  sources {', '.join(w.sources) if w.sources else 'every source'}"
                      f" · events {', '.join(w.events)} · digest {w.digest}")
        console.print("  notify  " + (", ".join(target_label(u) for u in w.notify)
                                      or "(feed only: newsarchive feed " + w.name + ")"))
        console.print(f"  matches {row.get('matches') or 0} · owed {row.get('owed') or 0}"
                      f" · last sent {(row.get('last_sent') or 'never')[:19].replace('T', ' ')}"
                      f" · failed attempts {failures}")
    if not watches:
        click.echo(f"no [[watch]] in {seeds_dir}/*.toml (README: Watchlists and alerts)",
                   err=True)


@watch.command("test")
@click.argument("name")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Show at most this many articles.")
@DB_OPTION
@SEEDS_OPTION
def test_watch(name: str, limit: int, db: Path | None, seeds_dir: Path) -> None:
    """What watch NAME's query matches in the archive now, newest first. Sends nothing
    and records nothing: a way to try a query before the crawl acts on it.

    \b
    Example:
        newsarchive watch test longhu --limit 5
    """
    from newsarchive.commands.browse import print_hits

    (chosen,) = seeds_watches(seeds_dir, (name,))
    path = existing_archive(db)
    hits = search_articles(open_archive(path), chosen.query, sources=chosen.sources,
                           limit=limit)
    print_hits(hits, Console(highlight=False, soft_wrap=True))
    scope = ", ".join(chosen.sources) if chosen.sources else "every source"
    click.echo(f"{len(hits)} article{'s' if len(hits) != 1 else ''} of {scope} match "
               f"{chosen.query!r} in {path}; nothing was sent", err=True)


@watch.command("matches")
@click.argument("name")
@click.option("--since", metavar="DATE", callback=since_utc,
              help="Only matches made on or after DATE (UTC, YYYY-MM-DD or an ISO time).")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="Show at most this many matches.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@DB_OPTION
def matches(name: str, since: str | None, limit: int, as_json: bool, db: Path | None) -> None:
    """Watch NAME's matches, newest first: when, which event, the article, and whether
    each notify target has been sent it (sent) or is still owed it (owed).

    \b
    Examples:
        newsarchive watch matches longhu
        newsarchive watch matches longhu --since 2025-11-14 --json | jq -r .url
    """
    rows = watch_matches(open_archive(existing_archive(db)), name, since=since, limit=limit)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    table = Table(title=f"matches of watch {name}", title_justify="left")
    for column in ("matched (UTC)", "event", "source", "article", "sent", "owed"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["matched_at"][:19].replace("T", " "), row["event"], row["source"],
                      Text(f"{row['title'] or ''}\n{row['url']}"), str(row["sent"]),
                      str(row["owed"]))
    Console(highlight=False).print(table)


@watch.command("send")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("--due", is_flag=True,
              help="Only what is due: digest periods and retry backoff respected, as a "
                   "crawl or the scheduler's tick sends (for cron beside a cluster's archive).")
@DB_OPTION
@SEEDS_OPTION
def send(names: tuple[str, ...], due: bool, db: Path | None, seeds_dir: Path) -> None:
    """Send now what the outbox owes watch NAME (default: every watch), whatever its
    digest period and retry backoff: one message per notify URL. A crawl does this by
    itself for what is due; use it to retry at once after fixing a receiver.

    \b
    Examples:
        newsarchive watch send longhu
        newsarchive watch send --due          # from cron: what is due, as a crawl would
    """
    from newsarchive.watch.delivery import deliver, sync_from_seeds

    chosen = seeds_watches(seeds_dir, names)
    database = open_archive(existing_archive(db))
    sync_from_seeds(database, seeds_watches(seeds_dir))
    done = deliver(database, chosen, force=not due)
    for delivery in done:
        state = "sent" if delivery.ok else f"FAILED: {delivery.error}"
        click.echo(f"{delivery.watch} -> {delivery.target}: {delivery.matches} "
                   f"match{'es' if delivery.matches != 1 else ''} {state}")
    if not done:
        click.echo("nothing owed", err=True)
    if not all(d.ok for d in done):
        sys.exit(1)


@click.command()
@click.argument("name")
@DB_OPTION
def feed(name: str, db: Path | None) -> None:
    """Print watch NAME's matches as an Atom feed, newest first (the same feed as
    /-/watch/NAME.atom of `newsarchive serve`).

    \b
    Example:
        newsarchive feed longhu > longhu.atom
    """
    from newsarchive.watch.feed import UnknownWatch, watch_feed

    try:
        body = watch_feed(open_archive(existing_archive(db)), name)
    except UnknownWatch as exc:
        raise click.ClickException(exc.args[0]) from None
    sys.stdout.buffer.write(body)
    sys.stdout.buffer.flush()
