"""`newsarchive import` (WARC files into the archive) and `export --format warc`."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from archive import open_archive, resolve_db_path
from newsarchive.warc.export import ExportReport, export_warc
from newsarchive.warc.importing import ImportReport, import_warcs

SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
SHOWN = 10  # skip reasons and failures listed


class ByteSize(click.ParamType):
    """A size such as 1G, 500M, 100k or 1048576 (bytes)."""

    name = "SIZE"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = SIZE.match(str(value))
        if not match or float(match[1]) <= 0:
            self.fail(f"{value!r}: expected a size such as 1G, 500M or 100k", param, ctx)
        return int(float(match[1]) * UNITS[match[2].lower()])


def _utc(value: str) -> datetime:
    """A --since/--until value as given (date, or date-time; naive is UTC)."""
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def fetch_bounds(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """(fetched at or after, fetched before) in UTC ISO: a date for --until means up to
    the end of that day."""
    low = high = None
    if since:
        low = _utc(since).isoformat()
    if until:
        bound = _utc(until)
        # a bare date is its whole day; a time, that second included
        bound += timedelta(days=1) if len(until) == 10 else timedelta(seconds=1)
        high = bound.isoformat()
    return low, high


def write_warc_export(db_path: Path, output: Path, *, source: str | None,
                      since: str | None, until: str | None, max_size: int | None) -> None:
    """`export --format warc`: every stored page, as WARC records, then a summary."""
    if str(output) == "-":
        raise click.BadParameter("a WARC export needs a file: -o FILE.warc.gz",
                                 param_hint="--output")
    low, high = fetch_bounds(since, until)
    database = open_archive(db_path)
    report = export_warc(database, output, source=source, since=low, before=high,
                         max_size=max_size)
    _print_export(report)


def _print_export(report: ExportReport) -> None:
    per_article = report.bytes / report.articles if report.articles else 0
    click.echo(f"exported {report.pages} page{'s' if report.pages != 1 else ''} "
               f"({report.articles} with an article) as WARC/1.1 to "
               f"{', '.join(str(p) for p in report.files)}", err=True)
    click.echo(f"{report.bytes:,} bytes"
               + (f", {per_article / 1024:.1f} KB an article" if per_article else "")
               + f", in {report.seconds:.1f} s", err=True)


@click.command(name="import")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", help="Record the pages under this source name. Default: each "
              "file's name without .warc.gz.")
@click.option("--profile", help="Extract with this site profile whatever the URL "
              "(default: the one our own export recorded, else the URL's host).")
@click.option("-j", "--jobs", "workers", type=click.IntRange(min=0), default=0,
              help="Extraction worker processes. Default: one per core.")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Archive file (created if missing). Default: $NEWSARCHIVE_DB, else "
                   "./archive.db.")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
def import_command(files: tuple[Path, ...], source: str | None, profile: str | None,
                   workers: int, db: Path | None, as_json: bool) -> None:
    """Import WARC files (ours, wget --warc-file, Heritrix, CC-NEWS) into the archive.

    Each HTML page of a 2xx response goes the way a crawled page goes: extraction in the
    worker pool, deduplication, the search index, one transaction per page, and each
    file is a run of its own in `newsarchive runs`. Records that are not pages
    (requests, metadata, revisits, images, redirects, 404s) are counted and skipped with
    their reason, and so are pages already archived: importing a file twice adds
    nothing. A file that cannot be read on (cut short, a record whose Content-Length
    lies, not a WARC) stops with the reason; what came before it is kept.

    Exits 1 when a file could not be read to its end.

    \b
    Examples:
        newsarchive import crawl.warc.gz
        newsarchive import CC-NEWS-20251114.warc.gz --source cc-news -j 2
        wget --warc-file=site -r -l1 https://example.org/ && newsarchive import site.warc.gz
    """
    if profile:
        from pipelines.sites import PROFILES

        if profile not in PROFILES:
            raise click.BadParameter(f"unknown profile {profile!r} (known: "
                                     f"{', '.join(sorted(PROFILES))})", param_hint="--profile")
    path = resolve_db_path(db)
    open_archive(path).close()  # create and migrate before the workers start
    console = Console(stderr=True)
    show = not as_json and console.is_terminal
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TextColumn("{task.fields[pages]} pages"), TimeElapsedColumn(),
                  console=console, disable=not show) as bar:
        tasks: dict[str, Any] = {}

        def progress(report: ImportReport, position: int) -> None:
            if report.file not in tasks:
                tasks[report.file] = bar.add_task(Path(report.file).name, pages=0,
                                                  total=Path(report.file).stat().st_size)
            bar.update(tasks[report.file], completed=position, pages=report.pages)

        reports = import_warcs(path, list(files), source=source, profile=profile,
                               workers=workers, progress=progress if show else None)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in reports], ensure_ascii=False, indent=1))
    else:
        for report in reports:
            _print_import(report, path)
    if not all(r.ok for r in reports):
        sys.exit(1)


def _print_import(report: ImportReport, db: Path) -> None:
    per_second = report.pages / report.seconds if report.seconds else 0.0
    out = report.outcomes
    click.echo(f"{report.file} → {db} (run {report.run_id}, source {report.source}, "
               f"{report.seconds:.1f} s, {per_second:.0f} pages/s)")
    click.echo(f"  records   {report.records}")
    click.echo(f"  pages     {report.pages}: {out['new']} new, "
               f"{out['near-duplicate']} near-duplicate, {out['duplicate']} duplicate, "
               f"{out['not-article']} without an article")
    skipped = sum(report.skipped.values())
    click.echo(f"  skipped   {skipped}" + ("" if not skipped else ": " + ", ".join(
        f"{reason} {count}" for reason, count in report.skipped.most_common(SHOWN))))
    for failure in report.failed[:SHOWN]:
        click.echo(f"  failed: {failure['url']}  {failure['reason']}")
    if report.error:
        click.echo(f"Error: {report.error}; the {report.pages} pages before it are kept",
                   err=True)
    if report.interrupted:
        click.echo("interrupted: the pages stored so far are kept", err=True)
