"""The `newsarchive` command line: the group; every command is in newsarchive/commands/."""

from __future__ import annotations

import gc
import logging

import click

from newsarchive.commands import COMMANDS


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


for command in COMMANDS:
    cli.add_command(command)


def main() -> None:
    logging.captureWarnings(True)
    try:
        cli()
    finally:
        # Python's exit otherwise runs its collector over every object the crawl's ~1,100
        # modules made: 0.5-1.5 s of a run that finds nothing new (bench/README.md).
        # Frozen, they are left to the process's end; finalisers and atexit still run.
        gc.freeze()
