"""`newsarchive crawl` and `newsarchive demo`: one crawl of sources into the archive."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from archive import open_archive, resolve_db_path
from crawler.seeds import SeedsError, load_seeds, load_watches, select_sources
from newsarchive.commands.options import DB_OPTION, SEEDS_OPTION


@click.command()
@click.argument("sources", nargs=-1)
@DB_OPTION
@SEEDS_OPTION
@click.option("-s", "--set", "overrides", multiple=True, metavar="NAME=VALUE",
              help="Override a Scrapy setting, e.g. -s DOWNLOAD_DELAY=2.")
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log instead of progress.")
@click.option("--redis", "redis_url", metavar="URL",
              help="Queue the runs on a cluster's Redis instead of crawling here: "
                   "`newsarchive worker`s fetch, `newsarchive store` writes "
                   "(docs/cluster.md).")
@click.option("--wait", is_flag=True, help="With --redis: wait until the writer has "
              "finished the runs, and report them.")
def crawl(sources: tuple[str, ...], db: Path | None, seeds_dir: Path,
          overrides: tuple[str, ...], verbose: bool, redis_url: str | None,
          wait: bool) -> None:
    """Crawl SOURCES (default: every source in seeds/) once, into the archive.

    Listing pages, JSONP lists, feeds and sitemaps are read; article URLs matching the
    source's `allow` rules and not yet archived are fetched, extracted and stored.
    Exits non-zero when a run failed.

    \b
    Examples:
        newsarchive crawl
        newsarchive crawl netease-news --db news.db
        newsarchive crawl netease-tech -s DOWNLOAD_DELAY=2
        newsarchive crawl --redis redis://:secret@10.0.0.5:6379/0 --wait
    """
    try:
        selected = select_sources(load_seeds(seeds_dir), sources)
    except SeedsError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyError as exc:
        raise click.BadParameter(exc.args[0], param_hint="SOURCES") from None
    if redis_url:
        from newsarchive.commands.cluster import crawl_on_cluster

        crawl_on_cluster(selected, redis_url, resolve_db_path(db), wait)
        return
    if wait:
        raise click.BadParameter("--wait goes with --redis", param_hint="--wait")
    settings = dict(_parse_override(o) for o in overrides)
    _run_and_report(selected, resolve_db_path(db), seeds_dir, settings, verbose)


def _parse_override(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"expected NAME=VALUE, got {text!r}", param_hint="--set")
    return name.strip(), value.strip()


def _run_and_report(selected: list, db: Path, seeds_dir: Path | None,
                    settings: dict, verbose: bool) -> None:
    from newsarchive.crawling.runner import run_crawl
    from newsarchive.watch.delivery import deliver_after_crawl, sync_from_seeds

    console = Console(stderr=True)
    settings.setdefault("LOG_LEVEL", "INFO" if verbose else "WARNING")
    watches = load_watches(seeds_dir) if seeds_dir else []
    database = open_archive(db)  # create and migrate before the spiders start
    sync_from_seeds(database, watches)  # what the crawl matches its articles against
    database.close()
    summaries = run_crawl(selected, db, seeds_dir=seeds_dir, overrides=settings,
                          console=None if verbose else console)
    from newsarchive.commands.report import runs_table

    console.print(runs_table([s.__dict__ for s in summaries], title=f"crawl into {db}"))
    from newsarchive.crawling.causes import unreachable_causes

    for line in dict.fromkeys(s.disk_full for s in summaries if s.disk_full):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    run_ids = [s.run_id for s in summaries if s.run_id is not None]
    for line in unreachable_causes(db, run_ids):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    for line in deliver_after_crawl(db, watches):  # after the commits: what is owed and due
        console.print(line, highlight=False)
    if not all(s.ok for s in summaries):
        sys.exit(1)


@click.command()
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

    from newsarchive.demo.demo import DEMO_SETTINGS, write_sample_seeds
    from newsarchive.demo.samplesite import serve_sample_site

    path = resolve_db_path(db)
    with serve_sample_site(port) as site, tempfile.TemporaryDirectory() as tmp:
        click.echo(f"Serving the sample site at {site.base_url}", err=True)
        seeds_dir = write_sample_seeds(site.base_url, Path(tmp))
        _run_and_report(load_seeds(seeds_dir), path, seeds_dir, dict(DEMO_SETTINGS), verbose)
    click.echo(f"Browse it: datasette {path}", err=True)
