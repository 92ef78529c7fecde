"""`newsarchive stats`: what the archive holds, the last runs, extraction health."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from archive import open_archive
from newsarchive.commands.options import DB_OPTION, existing_archive


@click.command()
@DB_OPTION
@click.option("--runs", "run_limit", default=10, show_default=True, help="How many runs to list.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def stats(db: Path | None, run_limit: int, as_json: bool) -> None:
    """What the archive holds, per source, the last crawl runs and extraction health.

    Extraction health, per source: of the articles the last run extracted, the share that
    fell back to generic extraction (the profile's templates did not match), had no date,
    no author or a body under 200 characters, and of its pages the share without an
    article, beside the average of the runs before it. A share up by more than 20 points
    is flagged "template changed?": re-check the profile, then `newsarchive reextract`.

    \b
    Example:
        newsarchive stats --db archive.db
    """
    from archive.queries import extraction_health, recent_runs, source_stats
    from newsarchive.commands.report import health_table, runs_table, sources_table

    path = existing_archive(db)
    database = open_archive(path)
    per_source, runs = source_stats(database), recent_runs(database, run_limit)
    health = extraction_health(database)
    if as_json:
        click.echo(json.dumps({"sources": per_source, "runs": runs, "extraction": health},
                              ensure_ascii=False, indent=1))
        return
    console = Console()
    console.print(sources_table(per_source, title=f"{path}"))
    console.print(runs_table(runs, title="last runs"))
    if health:
        console.print(health_table(health, title="extraction health"))
