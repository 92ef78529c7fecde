"""`newsarchive duplicates` and `newsarchive history`: what the archive knows about copies
and edits."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from archive import open_archive
from archive.queries import article_versions, duplicate_clusters, find_article
from newsarchive.commands.options import DB_OPTION, existing_archive


@click.command()
@DB_OPTION
@click.option("--source", help="Only clusters whose original came from this source.")
@click.option("--limit", default=50, show_default=True, help="How many clusters.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def duplicates(db: Path | None, source: str | None, limit: int, as_json: bool) -> None:
    """Stories seen more than once: each original with its near-copies (re-posts under
    other accounts, syndicated copies) and the other URLs it was reached by.

    \b
    Example:
        newsarchive duplicates --limit 10
    """
    clusters = duplicate_clusters(open_archive(existing_archive(db)), limit, source)
    if as_json:
        click.echo(json.dumps(clusters, ensure_ascii=False, indent=1))
        return
    table = Table(title=f"{len(clusters)} duplicate clusters", title_justify="left",
                  show_lines=True)
    for column in ("id", "title", "source", "similarity", "url"):
        table.add_column(column, overflow="fold")
    for cluster in clusters:
        table.add_row(str(cluster["id"]), f"[bold]{cluster['title']}[/bold]", cluster["source"],
                      "original", cluster["url"])
        for member in cluster["members"]:
            table.add_row(str(member["id"]), member["title"], member["source"],
                          f"{member['similarity'] or 0:.2f}", member["url"])
        for url in cluster["other_urls"]:
            table.add_row("", "", "", "same article", url)
    Console().print(table)


@click.command()
@click.argument("url")
@DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of diffs.")
def history(url: str, db: Path | None, as_json: bool) -> None:
    """An article's versions: what changed at each revisit, with a diff of the body.

    URL may be any URL the article was seen at (www or m.163.com alike).

    \b
    Example:
        newsarchive history https://www.163.com/dy/article/KEK0A3PK0527D7QO.html
    """
    database = open_archive(existing_archive(db))
    article = find_article(database, url)
    if article is None:
        raise click.ClickException(f"no archived article at {url}")
    versions = article_versions(database, article["id"])
    if as_json:
        click.echo(json.dumps({"article": article, "versions": versions},
                              ensure_ascii=False, indent=1))
        return
    console = Console()
    console.print(f"[bold]{article['title']}[/bold]  (article {article['id']}, "
                  f"version {article['version']}, {article['status']})")
    console.print(f"first seen {article['first_seen_at']}, last checked "
                  f"{article['last_checked_at']}, {len(versions)} earlier version(s)")
    for version in versions:
        changed = ", ".join(json.loads(version["changed_fields"]))
        console.rule(f"version {version['version']} → {version['version'] + 1}, "
                     f"replaced {version['replaced_at']}: {changed}")
        for field in json.loads(version["changed_fields"]):
            if field != "text":
                console.print(f"{field}: {version[field]!r}")
        if version["text_diff"]:
            console.print(Syntax(version["text_diff"], "diff", word_wrap=True))
