"""Every `newsarchive` command, one module per feature, registered in COMMANDS.

A command parses options, calls an application service (newsarchive/<feature>/) or the
layers below, and prints. Adding a command: a module here and one entry below.
"""

from __future__ import annotations

import click

from newsarchive.commands.backup import backup
from newsarchive.commands.browse import export, search, serve
from newsarchive.commands.cluster import store, worker
from newsarchive.commands.crawl import crawl, demo
from newsarchive.commands.evaluate import eval_command
from newsarchive.commands.extract import extract
from newsarchive.commands.history import duplicates, history
from newsarchive.commands.reextract import reextract_command
from newsarchive.commands.schedule import runs, schedule
from newsarchive.commands.stats import stats
from newsarchive.commands.warc import import_command
from newsarchive.commands.watch import feed, watch

COMMANDS: list[click.Command] = [
    crawl, demo, extract, stats, serve, search, export, duplicates, history, schedule, runs,
    eval_command, reextract_command, worker, store, import_command, backup, watch, feed,
]
