"""`newsarchive reextract`: today's extraction over the pages the archive already holds."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from archive import open_archive
from newsarchive.commands.options import DB_OPTION, existing_archive, since_utc
from newsarchive.reextract.service import Report, reextract

SHOWN = 20  # changed and failed articles listed by URL


@click.command(name="reextract")
@DB_OPTION
@click.option("--source", help="Only articles of this seeds source.")
@click.option("--since", metavar="DATE", callback=since_utc,
              help="Only articles whose page was fetched on or after DATE (YYYY-MM-DD or "
                   "an ISO date-time; UTC unless it says otherwise).")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("-j", "--jobs", "workers", type=click.IntRange(min=0), default=0,
              help="Extraction worker processes. Default: one per core.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def reextract_command(db: Path | None, source: str | None, since: str | None, dry_run: bool,
                      workers: int, as_json: bool) -> None:
    """Re-run extraction over the raw pages stored in the archive.

    After a site profile is fixed, the archived articles are extracted again from the
    newest stored page of each, with the page's URL, Content-Type, fetch time and the
    profile it was crawled with. An article whose title, author, publisher, publish time
    or body changed is updated as a revisit would update it: the old state is kept as a
    version with a diff (`newsarchive history URL` shows it), and the search index and
    near-duplicate fingerprint follow, one transaction per article. Nothing is fetched.

    Exits 1 when an article's page could not be re-extracted.

    \b
    Examples:
        newsarchive reextract --dry-run
        newsarchive reextract --source netease-news --since 2025-11-01 -j 2
    """
    path = existing_archive(db)
    database = open_archive(path)
    progress = None if as_json or not sys.stderr.isatty() else _progress
    report = reextract(database, source=source, since=since, dry_run=dry_run,
                       workers=workers, progress=progress)
    if progress is not None:
        click.echo("", err=True)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
    else:
        _print(report, workers)
    if report.failed:
        sys.exit(1)



def _progress(done: int, total: int) -> None:
    click.echo(f"\r{done}/{total} articles", err=True, nl=False)


def _print(report: Report, workers: int) -> None:
    verb = "would change" if report.dry_run else "changed"
    per_field = ", ".join(f"{name} {count}" for name, count in report.fields.most_common())
    size = workers or os.cpu_count() or 1
    click.echo(f"checked    {report.checked} articles, from the newest page of each "
               f"({report.seconds:.1f} s, {size} worker{'s' if size > 1 else ''})")
    click.echo(f"{verb:<10} {report.changed}" + (f": {per_field}" if per_field else ""))
    click.echo(f"unchanged  {report.unchanged}" + (
        f" ({report.refreshed} with images, language, profile or template refreshed)"
        if report.refreshed else ""))
    click.echo(f"failed     {report.failed}")
    for change in report.changes[:SHOWN]:
        click.echo(f"  {verb}: {change['url']}  {', '.join(change['fields'])}")
    for failure in report.failures[:SHOWN]:
        click.echo(f"  failed: {failure['url']}  {failure['reason']}")
    hidden = max(0, len(report.changes) - SHOWN) + max(0, len(report.failures) - SHOWN)
    if hidden:
        click.echo(f"  … and {hidden} more (--json lists all)")
    if report.dry_run:
        click.echo("dry run: nothing was written")
    elif report.changed:
        click.echo("each change is a new version: newsarchive history URL")
