"""`newsarchive extract`: the articles of saved pages, HTML or WARC, as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.command()
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
    from pipelines.extract import extract_article
    from pipelines.pagefiles import is_warc, saved_pages
    from pipelines.warcpages import WarcError

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
        try:
            for page in saved_pages(path):
                page_url = page.url or url or path.resolve().as_uri()
                article = extract_article(page.body, page_url,
                                          content_type=page.content_type or content_type,
                                          profile=profile, fetched_at=page.fetched_at)
                if article is None:
                    click.echo(f"{page.source} ({page_url}): no article found", err=True)
                    failed = True
                    continue
                click.echo(json.dumps(article, ensure_ascii=False,
                                      indent=1 if one_object else None))
        except WarcError as exc:  # a broken WARC: what came before it is printed
            click.echo(f"Error: {exc}", err=True)
            failed = True
    if failed:
        sys.exit(1)
