"""The `newsarchive` command line: the group; every command is in newsarchive/commands/."""

from __future__ import annotations

import gc
import importlib
import logging

import click

from newsarchive.commands import COMMANDS


class LazyGroup(click.Group):
    """A group whose commands are imported when asked for (click's lazy-loading recipe)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        assert command.name == cmd_name, (target, command.name)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


def main(prog_name: str | None = None) -> None:
    """The command line; `prog_name` for usage lines when click cannot tell it from how
    the process was started (a run forked by the crawl launcher)."""
    logging.captureWarnings(True)
    try:
        cli(prog_name=prog_name)
    finally:
        # Python's exit otherwise runs its collector over every object the crawl's ~1,100
        # modules made: 0.5-1.5 s of a run that finds nothing new (bench/README.md).
        # Frozen, they are left to the process's end; finalisers and atexit still run.
        gc.freeze()
