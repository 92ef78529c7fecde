"""The `newsarchive` command line."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click
from rich.console import Console

from archive import open_archive, resolve_db_path
from newsarchive.browse import export, search, serve
from newsarchive.evaluate import eval_command
from newsarchive.history import duplicates, history
from newsarchive.options import DB_OPTION, SEEDS_OPTION, existing_archive
from newsarchive.reextract import reextract_command
from newsarchive.schedule import runs, schedule
from newsarchive.seeds import SeedsError, load_seeds, select_sources


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsarchive")
def cli() -> None:
    """Discover, fetch, extract, deduplicate and archive news articles in one SQLite file.

    \b
    Quick start:
        newsarchive demo              # crawl the bundled sample site into ./archive.db
        newsarchive crawl             # crawl every source in seeds/
        newsarchive stats             # what the archive holds
        datasette archive.db          # browse it
    """


@cli.command()
@click.argument("sources", nargs=-1)
@DB_OPTION
@SEEDS_OPTION
@click.option("-s", "--set", "overrides", multiple=True, metavar="NAME=VALUE",
              help="Override a Scrapy setting, e.g. -s DOWNLOAD_DELAY=2.")
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log instead of progress.")
def crawl(sources: tuple[str, ...], db: Path | None, seeds_dir: Path,
          overrides: tuple[str, ...], verbose: bool) -> None:
    """Crawl SOURCES (default: every source in seeds/) once, into the archive.

    Listing pages, JSONP lists, feeds and sitemaps are read; article URLs matching the
    source's `allow` rules and not yet archived are fetched, extracted and stored.
    Exits non-zero when a run failed.

    \b
    Examples:
        newsarchive crawl
        newsarchive crawl netease-news --db news.db
        newsarchive crawl netease-tech -s DOWNLOAD_DELAY=2
    """
    try:
        selected = select_sources(load_seeds(seeds_dir), sources)
    except SeedsError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyError as exc:
        raise click.BadParameter(exc.args[0], param_hint="SOURCES") from None
    settings = dict(_parse_override(o) for o in overrides)
    _run_and_report(selected, resolve_db_path(db), seeds_dir, settings, verbose)


def _parse_override(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"expected NAME=VALUE, got {text!r}", param_hint="--set")
    return name.strip(), value.strip()


def _run_and_report(selected: list, db: Path, seeds_dir: Path | None,
                    settings: dict, verbose: bool) -> None:
    from newsarchive.crawl import run_crawl

    console = Console(stderr=True)
    settings.setdefault("LOG_LEVEL", "INFO" if verbose else "WARNING")
    open_archive(db).close()  # create and migrate before the spiders start
    summaries = run_crawl(selected, db, seeds_dir=seeds_dir, overrides=settings,
                          console=None if verbose else console)
    from newsarchive.report import runs_table

    console.print(runs_table([s.__dict__ for s in summaries], title=f"crawl into {db}"))
    if not all(s.ok for s in summaries):
        sys.exit(1)


@cli.command()
@DB_OPTION
@click.option("--port", type=int, default=0, help="Port for the sample site (default: any).")
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log instead of progress.")
def demo(db: Path | None, port: int, verbose: bool) -> None:
    """Serve the bundled sample site on 127.0.0.1 and crawl it into the archive.

    Shows the whole flow without internet: listing page, JSONP list, RSS feed and
    sitemap discovery; NetEase pages of every template, GBK and lying charsets; a 404
    and a non-article page recorded as failures.

    \b
    Example:
        newsarchive demo && datasette archive.db
    """
    import tempfile

    from newsarchive.demo import DEMO_SETTINGS, write_sample_seeds
    from newsarchive.samplesite import serve_sample_site

    path = resolve_db_path(db)
    with serve_sample_site(port) as site, tempfile.TemporaryDirectory() as tmp:
        click.echo(f"Serving the sample site at {site.base_url}", err=True)
        seeds_dir = write_sample_seeds(site.base_url, Path(tmp))
        _run_and_report(load_seeds(seeds_dir), path, seeds_dir, dict(DEMO_SETTINGS), verbose)
    click.echo(f"Browse it: datasette {path}", err=True)


@cli.command()
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", help="The page's URL (chooses the site profile; resolves links). "
              "For one HTML file; WARC records carry their own.")
@click.option("--profile", help="Use this site profile whatever the URL.")
@click.option("--content-type",
              help="The Content-Type header the HTML files were served with.")
def extract(files: tuple[Path, ...], url: str | None, profile: str | None,
            content_type: str | None) -> None:
    """Extract the articles from saved pages: HTML FILES (gzipped or not) and WARC files.

    One HTML file prints one indented JSON object. Anything more (several files, or a
    WARC, whose every successful text/html response is a page) prints one JSON line
    per page, each with its `url`. Pages without an article are reported on stderr
    and make the exit status 1.

    \b
    Examples:
        newsarchive extract page.html --url https://www.163.com/dy/article/G33O1QTA05372UZS.html
        newsarchive extract crawl.warc.gz > articles.jsonl
        newsarchive extract saved/*.html crawl.warc.gz | jq -r .title
    """
    from newsarchive.pagefiles import is_warc, saved_pages
    from pipelines.extract import extract_article

    if profile:
        from pipelines.sites import PROFILES

        if profile not in PROFILES:
            raise click.BadParameter(f"unknown profile {profile!r}", param_hint="--profile")
    warcs = [path for path in files if is_warc(path)]
    if url and len(files) - len(warcs) > 1:
        raise click.BadParameter("one URL cannot name several HTML files", param_hint="--url")
    one_object = len(files) == 1 and not warcs
    failed = False
    for path in files:
        for page in saved_pages(path):
            page_url = page.url or url or path.resolve().as_uri()
            article = extract_article(page.body, page_url,
                                      content_type=page.content_type or content_type,
                                      profile=profile, fetched_at=page.fetched_at)
            if article is None:
                click.echo(f"{page.source} ({page_url}): no article found", err=True)
                failed = True
                continue
            click.echo(json.dumps(article, ensure_ascii=False, indent=1 if one_object else None))
    if failed:
        sys.exit(1)


@cli.command()
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
    from newsarchive.report import health_table, runs_table, sources_table

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


# Commands kept in their own modules, one module per feature.
for command in (eval_command, reextract_command, serve, search, export, duplicates, history,
                schedule, runs):
    cli.add_command(command)


def main() -> None:
    logging.captureWarnings(True)
    cli()
